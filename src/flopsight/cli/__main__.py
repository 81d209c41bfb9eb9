"""``python -m flopsight.cli``: the same as the ``flopsight`` console script."""

import sys

from .app import main

sys.exit(main())
