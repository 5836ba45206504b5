#!/usr/bin/env python
"""Django's command line for working in a checkout.

It defaults to development settings (DEBUG on) so that `manage.py
makemigrations`, `shell` and friends work with no environment at all.
Production uses the `partnerwell` command, which keeps DEBUG off unless it is
set, and which refuses to start without a SECRET_KEY.
"""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerwell.settings")
    os.environ.setdefault("DEBUG", "true")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
