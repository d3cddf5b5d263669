"""``python -m klaviyo_analytics actions …`` (see ``actions.cli``) and ``… users …`` (see ``auth.cli``)."""

from __future__ import annotations

import sys

if __name__ == "__main__":
    if sys.argv[1:2] == ["users"]:
        from klaviyo_analytics.auth.cli import main as users_main

        sys.exit(users_main(sys.argv[2:]))
    from klaviyo_analytics.actions.cli import main

    sys.exit(main())
