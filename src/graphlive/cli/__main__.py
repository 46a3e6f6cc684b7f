"""``python -m graphlive.cli``: the ``graphlive`` console script."""

import sys

from graphlive.cli import console_main

sys.exit(console_main())
