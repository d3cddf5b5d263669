"""``python -m klaviyo_analytics actions …`` (see ``actions.cli``), ``… users …`` (see ``auth.cli``) and
``… digest …`` (see ``service.digest``)."""

from __future__ import annotations

import sys

if __name__ == "__main__":
    if sys.argv[1:2] == ["users"]:
        from klaviyo_analytics.auth.cli import main as users_main

        sys.exit(users_main(sys.argv[2:]))
    if sys.argv[1:2] == ["digest"]:
        from klaviyo_analytics.service.digest import main as digest_main

        sys.exit(digest_main(sys.argv[2:]))
    from klaviyo_analytics.actions.cli import main

    sys.exit(main())
