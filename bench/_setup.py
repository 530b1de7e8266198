"""Start Django for a benchmark on a throwaway SQLite database, with the demo models."""

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The portal's modules compiled to bytecode, as `make run` has them before it starts the server
# (without it, where Python may not write bytecode, each server start compiles them anew), and
# the virtualenv it serves from: requirements.txt alone, as a deployment has it (Makefile,
# RUN_VENV). The benchmarks themselves run in .venv, beside the test tools.
subprocess.run(["make", "--silent", "var/.bytecode", ".venv-run/.installed"], cwd=ROOT, check=True)


def django_with_demo() -> None:
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="model-portal-bench-"))
    os.environ.setdefault("TASK_BACKEND", "immediate")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50": pick(0.5), "p90": pick(0.9), "p99": pick(0.99)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_launch(*, workers: int, port: int, **env: str) -> subprocess.Popen:
    """The portal under gunicorn with the project's config, as `make run` serves it (from
    .venv-run, its own modules compiled to bytecode first); ``env`` adds to this
    process's environment. Returns at once: callers wait for it to answer."""
    return subprocess.Popen(
        [
            str(ROOT / ".venv-run/bin/gunicorn"),
            *("--config", str(ROOT / "gunicorn.conf.py"), "--workers", str(workers)),
            *("--bind", f"127.0.0.1:{port}", "--access-logfile", "/dev/null"),
            "portal.wsgi",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
