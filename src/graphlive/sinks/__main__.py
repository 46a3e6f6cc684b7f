"""``python -m graphlive.sinks GRAPH --to URL``: the ``graphlive sink`` command on its own."""

import sys

from graphlive.cli.sinks import main

sys.exit(main())
