"""``python -m actseg_lib`` is the ``actseg`` command."""

import sys

from .cli import main

sys.exit(main())
