"""What a server imports before its first answer: what answering needs, nothing it might need
later. A cold start is mostly imports (issue 24; bench/api_http.py --cold measures it)."""

import subprocess
import sys
from pathlib import Path

from tests.conftest import portal_process_env

ROOT = Path(__file__).resolve().parents[2]

# The server's module, as gunicorn preloads it; prints which of the named modules it loaded.
LOADED = "import sys, portal.wsgi; print(*[m for m in sys.argv[1:] if sys.modules.get(m)])"


def _run(tmp_path, script: str, *args: str, **settings: str) -> str:
    """What ``script`` prints in a process of its own, with the portal's settings."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env=portal_process_env(tmp_path, **settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_server_on_sqlite_loads_no_postgresql_driver_and_no_schema_generator(tmp_path):
    unused = ["psycopg", "django.contrib.postgres.fields", "drf_spectacular.views"]
    # The same process does load what answering needs (the check would see them).
    needed = ["rest_framework.serializers", "registry.predict.services"]
    assert _run(tmp_path, LOADED, *unused, *needed).split() == needed


def test_a_server_on_postgresql_still_has_drf_map_postgresql_fields(tmp_path):
    # Nothing connects on import: the URL only picks the engine, as in production.
    script = "import portal.wsgi; from rest_framework.compat import postgres_fields as f; print(f)"
    url = "postgres://nobody@127.0.0.1:1/none"
    assert "django.contrib.postgres.fields" in _run(tmp_path, script, DATABASE_URL=url)
