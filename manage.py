#!/usr/bin/env python
"""Django's command-line utility (migrate, run_listener, ...)."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "multicloud.settings")
    from multicloud.conf import ConfigError

    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(sys.argv)
    except ConfigError as exc:
        sys.exit(f"multicloud: configuration error: {exc}")


if __name__ == "__main__":
    main()
