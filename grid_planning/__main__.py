"""``python -m grid_planning``: the command-line interface (see :mod:`grid_planning.cli`)."""

from __future__ import annotations

import sys

from grid_planning.cli import main

sys.exit(main())
