"""``python -m nbtrack.cli``: the command line."""

import sys

from nbtrack.cli.main import main

sys.exit(main())
