"""``python -m klaviyo_analytics actions list|show|approve|reject`` — see ``actions.cli``."""

from __future__ import annotations

import sys

from klaviyo_analytics.actions.cli import main

if __name__ == "__main__":
    sys.exit(main())
