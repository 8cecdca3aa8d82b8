"""``python3 -m completeness.cli``: the same as the ``completeness`` command."""

import sys

from . import main

sys.exit(main())
