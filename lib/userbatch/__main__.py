"""``python -m userbatch`` is the ``userbatch`` command."""

import sys

from userbatch.cli import main

sys.exit(main())
