import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

# Import the URLconf (and with it every view, the registry and scikit-learn) now: gunicorn
# preloads this module, so its workers share the imports and answer their first request at
# once instead of each importing for seconds (or being interrupted half-way by a Ctrl-C).
from django.conf import settings  # noqa: E402
from django.urls import get_resolver  # noqa: E402

get_resolver(settings.ROOT_URLCONF).url_patterns  # noqa: B018
