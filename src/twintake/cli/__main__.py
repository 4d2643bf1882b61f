"""``python -m twintake.cli``."""

import sys

from . import main

sys.exit(main())
