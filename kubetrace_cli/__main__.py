"""`python -m kubetrace_cli`: the `kubetrace` command without its console script."""

import sys

from .cli import main

sys.exit(main())
