"""``python -m bslm.cli ...``: the ``bslm`` command."""

import sys

from bslm.cli.main import main

sys.exit(main())
