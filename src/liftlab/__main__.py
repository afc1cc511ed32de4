"""``python -m liftlab`` is the ``liftlab`` command."""

import sys

from liftlab.cli import main

sys.exit(main())
