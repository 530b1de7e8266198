import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

# Import the URLconf (and with it every view, the registry and scikit-learn) now: gunicorn
# preloads this module, so its workers share the imports and answer their first request at
# once instead of each importing for seconds (or being interrupted half-way by a Ctrl-C).
# One reverse() builds the table every reverse() reads (an answer links to itself): once here
# for all workers, not in each worker's first request (~15 ms of 60; bench/api_http.py --cold).
from django.urls import get_resolver, reverse  # noqa: E402

get_resolver().url_patterns  # noqa: B018
reverse("login")
