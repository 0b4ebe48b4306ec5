#!/usr/bin/env bash
# Install everything bnn-mcu needs on a fresh Debian machine (run as root, or with sudo available).
#   apt: cmake, the Arm GNU toolchain with newlib, QEMU for Cortex-M, clang + libFuzzer (protocol fuzzing),
#        chromium (headless: the test that the HTML report displays)
#   pip: a virtualenv at .venv/ in the repo root with bnn-mcu installed (editable) and its pinned deps
# Idempotent: re-running skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

APT_PKGS=(cmake make gcc clang libclang-rt-dev gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm python3-venv chromium)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[install] apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "[install] creating .venv"
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import bnn_mcu, larq, tf_keras" 2>/dev/null || [ pyproject.toml -nt .venv/.installed ]; then
  echo "[install] pip install -e .[dev] (tensorflow-cpu is large; this takes a few minutes the first time)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[dev]"
  touch .venv/.installed
fi
echo "[install] done: $(.venv/bin/bnn-mcu --version 2>/dev/null || echo 'bnn-mcu not importable')"
