"""``python -m bnn_mcu``: the same as the ``bnn-mcu`` command."""

import sys

from .cli import main

sys.exit(main())
