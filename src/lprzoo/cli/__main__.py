"""``python -m lprzoo.cli``: the ``lprzoo`` command."""

import sys

from lprzoo.cli import main

sys.exit(main())
