#!/usr/bin/env bash
# The main job, as a user runs it: train a Larq BNN on real MNIST digits (once), convert it, build the
# firmware for an emulated Cortex-M4 (mps2-an386), run all 2,000 held-out digits on it in QEMU over
# the serial protocol, and check every output against the Python reference and Larq itself.
#   OUT=out/mnist  where everything goes (model, project, results)
#   RETRAIN=1      train again even if $OUT/model.h5 exists
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/mnist}
BNN=.venv/bin/bnn-mcu
PY=.venv/bin/python
mkdir -p "$OUT"

if [ ! -f "$OUT/model.h5" ] || [ "${RETRAIN:-0}" = 1 ]; then
  echo "== 1/5 train a Larq BNN on 8,000 MNIST digits (a few minutes on 2 cores)"
  $PY examples/mnist/train.py --out "$OUT/model.h5"
else
  echo "== 1/5 using the trained model $OUT/model.h5 (RETRAIN=1 to train again)"
fi
echo "== 2/5 export the 2,000 held-out digits"
$PY examples/mnist/export_digits.py --out "$OUT/digits-test.npz"
echo "== 3/5 bnn-mcu convert"
$BNN convert "$OUT/model.h5" -o "$OUT/firmware" --board mps2-an386 --input-range 0 1
echo "== 4/5 bnn-mcu build"
$BNN build "$OUT/firmware"
echo "== 5/5 bnn-mcu run: all 2,000 digits on QEMU, every output checked"
$BNN run "$OUT/firmware" --inputs "$OUT/digits-test.npz" --outputs "$OUT/outputs.npz" \
  --keras "$OUT/model.h5" --no-build --json > "$OUT/run.json" || status=$?
$PY - "$OUT/run.json" <<'PYEOF'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"on-target outputs identical to the reference: {s['matches']} of {s['inputs']}")
print(f"top-1 accuracy: Larq {100*s['accuracy_keras']:.2f}%  |  reference {100*s['accuracy_reference']:.2f}%"
      f"  |  Cortex-M4 in QEMU {100*s['accuracy_target']:.2f}%")
print(f"Larq vs reference: {s['keras_bits_compared']:,} binary activations compared, "
      f"{s['keras_tie_disagreements']} float32 ties, {s['keras_unexplained_disagreements']} unexplained; "
      f"top-1 agreement {100*s['keras_top1_agreement']:.2f}%")
print(f"{s['count_unit']} per inference: {s['per_inference_mean']:,.0f} "
      f"({s['binary_macs']/s['per_inference_mean']:.3f} MACs per instruction)")
print(f"flash {s['flash_bytes']:,} bytes, RAM {s['ram_bytes']:,} bytes (activation arena {s['arena_bytes']:,}; "
      f"stack high-water {s['stack_used_bytes']:,} of {s['stack_size_bytes']:,} reserved)")
PYEOF
exit "${status:-0}"
