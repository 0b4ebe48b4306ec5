#!/usr/bin/env python3
"""Write held-out MNIST digits as the inputs file `bnn-mcu run --inputs` takes.

``x`` holds float images exactly as the Keras model takes them (pixel / 255, shape (N, 28, 28, 1)),
``y`` the labels. By default the 2,000 test rows (8000..9999) of the shipped mnist10k.npz.

    python examples/mnist/export_digits.py --out out/mnist-digits.npz
    python examples/mnist/export_digits.py --data keras --limit 10000 --out out/full-test.npz
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="the .npz to write")
    p.add_argument("--data", choices=["mnist10k", "keras"], default="mnist10k",
                   help="shipped 10k digits (offline, default) or the full MNIST test set via Keras")
    p.add_argument("--limit", type=int, default=None, help="only the first N test digits")
    args = p.parse_args(argv)
    if args.data == "mnist10k":
        d = np.load(HERE / "data" / "mnist10k.npz")
        x, y = d["x"][8000:], d["y"][8000:]
    else:
        import os

        os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
        import tf_keras

        (_, _), (x, y) = tf_keras.datasets.mnist.load_data()
    if args.limit:
        x, y = x[: args.limit], y[: args.limit]
    xf = (x.astype(np.float32) / 255.0)[..., None]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, x=xf, y=y.astype(np.int64))
    print(f"wrote {len(xf)} digits to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
