"""WSGI entry of the django mode (uWSGI loads ``multicloud.wsgi:application``)."""

import os

from django.core.wsgi import get_wsgi_application

# NOTE: the one environment write of the code base: Django finds its settings here.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "multicloud.settings")

application = get_wsgi_application()
