"""``python -m userbatch`` is the ``userbatch`` command."""

import sys

from userbatch.cli.main import main

sys.exit(main())
