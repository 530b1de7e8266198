import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

# One reverse() now imports the URLconf (and with it every view, the registry and
# scikit-learn) and builds the table every reverse() reads (an answer links to itself).
# gunicorn preloads this module, so its workers share both and answer their first request at
# once, instead of each importing for seconds (or being interrupted half-way by a Ctrl-C) and
# building the table in its first request (~15 ms of 60; bench/api_http.py --cold).
from django.urls import reverse  # noqa: E402

reverse("login")
