"""Settings for the test suite: the real settings, with throwaway data and inline tasks."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "tests-only-secret")
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="model-portal-tests-"))
os.environ.setdefault("TASK_BACKEND", "immediate")

from portal.settings import *  # noqa: F403
from portal.settings import STORAGES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests serve static files through the finders; no collectstatic manifest needed.
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve static files straight from the finders (no collectstatic in tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# RQ is configured (not used unless a test switches TASKS to it): the worker tests run real
# `rqworker` processes against this Redis database, which they empty first.
if "django_rq" not in INSTALLED_APPS:  # noqa: F405
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]  # noqa: F405
RQ_QUEUES = {
    "default": {"URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")},
}

# Mail goes to django.core.mail.outbox (as with EMAIL_HOST set in production, mail is sent).
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
