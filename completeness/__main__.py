"""``python3 -m completeness``: the same as the ``completeness`` command."""

import sys

from .cli import main

sys.exit(main())
