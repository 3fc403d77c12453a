"""``python -m multicloud.api.policy_doc``: print the rule table of ``docs/policy.md``."""

from __future__ import annotations

import os


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "multicloud.settings")
    django.setup()
    from multicloud.api.routes import ROUTES
    from multicloud.auth.policy import markdown

    print(markdown(ROUTES), end="")


if __name__ == "__main__":
    main()
