#!/usr/bin/env bash
# The test command: installs what is missing (idempotent), then runs pytest.
#   tools/test.sh                 everything (about 1-1.5 minutes after set-up)
#   tools/test.sh -m "not qemu"   the quick subset: no QEMU boots
#   tools/test.sh -k fold         any pytest arguments
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
.venv/bin/ruff check --quiet bnn_mcu tests tools examples benchmarks
exec .venv/bin/python -m pytest "$@"
