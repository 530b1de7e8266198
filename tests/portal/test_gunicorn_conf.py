import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_collector_is_off_while_the_app_loads_and_on_in_every_worker():
    # In a process of its own: reading the config turns the collector off, as in gunicorn's
    # master before it loads the app.
    code = (
        "import gc, runpy; "
        "conf = runpy.run_path('gunicorn.conf.py'); "
        "assert not gc.isenabled(), 'on while loading'; "
        "conf['when_ready'](None); "
        "assert gc.isenabled(), 'off in the master once loaded'; "
        # A reload (SIGHUP) reads the config again, and when_ready does not run again.
        "runpy.run_path('gunicorn.conf.py'); "
        "conf['post_fork'](None, None); "
        "assert gc.isenabled(), 'off in a worker forked after a reload'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
