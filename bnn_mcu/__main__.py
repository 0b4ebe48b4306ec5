"""``python -m bnn_mcu``: the same CLI as ``bnn-mcu``."""

import sys

from .cli import main

sys.exit(main())
