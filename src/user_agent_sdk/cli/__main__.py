"""``python -m user_agent_sdk.cli``: the same as the ``useragent`` command."""

import sys

from . import main

sys.exit(main())
