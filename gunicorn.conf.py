"""gunicorn settings for Model Portal; each can be overridden on the command line."""

import gc
import multiprocessing
import os

# Two workers per core is plenty: a request is CPU-bound model work, not waiting on I/O.
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count() * 2)))
# One thread per worker: gunicorn's sync worker, one request at a time. The model work is
# CPU-bound, and gthread's poller and thread hand-off cost about 1 ms of CPU a call, more than
# a booster's or a pipeline's own predict. bench/api_http.py, one worker, 8 clients: the breast
# cancer pipeline 332 -> 421 req/s (v1) and 349 -> 449 (v2), p99 22.8 ms; the demo's forest
# (wine) 205 -> 316 req/s, p99 71 -> 29 ms, 5.5 -> 3.1 CPU ms a call: with 4 threads its
# calls waited on each other for the GIL. The sync worker keeps no connection alive and each
# slow client holds a whole worker: slow clients are the proxy's job (deploy/nginx.conf, which
# reads each request in full and keeps the clients' connections). WEB_THREADS=4 gives the
# gthread worker back: more slow sockets before the portal stalls, and calls to one busy model
# answered together (registry/coalescing.py).
threads = int(os.environ.get("WEB_THREADS", 1))
# A worker silent for this long (a request that never ends, a client that never finishes
# sending) is killed and replaced. Slow clients are the proxy's job (deploy/nginx.conf):
# a worker serves only as many connections as it has threads.
timeout = int(os.environ.get("WEB_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5
# Bounds on what a request may send before the app sees it (gunicorn answers 400 above them).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# Load the app once in the master so workers share its memory (copy-on-write).
preload_app = True
# Loading it (Django, scikit-learn, SciPy, pandas) makes ~190,000 objects that live as long
# as the process: the cyclic collector ran ~490 times over them while they loaded, for
# nothing. It is off until they are loaded (when_ready; post_fork too, after a reload).
gc.disable()
# A worker is replaced by a fresh fork after this many requests (give or take the jitter, so
# workers are not all replaced at once), which gives back the memory a spike of large calls
# took (bench/worker_memory.py: a worker at ~490 MB after ten 10,000-row calls still held
# 371 MB 1,200 one-row calls later with 0; with 1000 a fresh worker held 175 MB). The call that
# meets a replacement waits ~0.2 s for it: gunicorn's own exit and fork, not the model (with
# the champions loaded in the master before the fork it waited the same, 203 against 205 ms).
# In bench/api_http.py's 2,000 calls that costs a one-worker server 13% of its req/s (v1 at 8
# clients: 300 against 346 with 0). 0: never.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", 1000))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("WEB_ACCESS_LOG", "-")


def when_ready(server):
    # In the master, after the app loaded and before the first worker forks: what was loaded
    # stays for the process's life, so it is moved out of the collector's reach for good.
    gc.freeze()
    gc.enable()


def post_fork(server, worker):
    # Move everything loaded at start-up out of the collector's reach: full collections
    # then scan only what requests create, which cut GC pauses from ~110 ms to ~5 ms.
    gc.freeze()
    gc.enable()


def worker_exit(server, worker):
    # A worker that ends cleanly (replaced after max_requests, or stopped) leaves at once:
    # Python's own teardown of the hundreds of thousands of objects it holds took ~0.2 s, and
    # the master forks the replacement only once the old worker is gone, so the call that met
    # the replacement waited for that teardown (bench: 205 -> 78 ms). Nothing is left to
    # flush: every call's transaction committed before its answer left; the logs are flushed
    # here. A worker ending with an error keeps its exit code (gunicorn reads a boot error
    # from it) and Python's usual exit.
    import logging
    import sys

    ending = sys.exception()  # the SystemExit on its way out of gunicorn's worker
    if not isinstance(ending, SystemExit) or ending.code not in (0, None):
        return
    # The database hears the connection end (PostgreSQL would log an unexpected EOF).
    from django.conf import settings

    if settings.configured:
        from django.db import connections

        connections.close_all()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
