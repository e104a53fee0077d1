"""WSGI entry point (``prepaid serve`` uses it)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prepaid.settings")
application = get_wsgi_application()
