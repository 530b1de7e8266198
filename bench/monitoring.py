"""Monitoring at scale: the page and the API with 1,000,000 stored predictions for one model.

    .venv/bin/python bench/py                 # SQLite (a throwaway file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mp_bench_monitoring \\
        .venv/bin/python bench/py             # PostgreSQL (the database is made)
    ROWS=200000 .venv/bin/python bench/py     # another size
    DATA_DIR=/tmp/bench-monitoring .venv/bin/python bench/py  # a second run
                                                         # there reuses the filled table

Fills the table for the demo diabetes champion with one-row answers spread over the last 30
days (90% api, 8% page, 2% batch; 1% with feedback; the newest week's bmi shifted), in bulk
INSERTs, then times, through the whole Django stack in-process: the monitoring page (default
period: 30 days, api + batch), the API with and without its chart, and a cold catalog
(champion statuses computed, not cached). The daily rollup is summed first, as the task
worker does once a day is over (its time is printed); the cold page is timed with it and,
as before it existed, without. Prints the median of several calls, the query count
of each, and where the page's time goes.
"""

import os
import statistics
import sys
import tempfile
import time
import uuid

ROWS = int(os.environ.get("ROWS", "1000000"))


def _ensure_postgres_database() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


_ensure_postgres_database()
os.environ.setdefault("STATIC_ROOT", tempfile.mkdtemp(prefix="model-portal-static-"))
from _setup import django_with_demo  # noqa: E402

django_with_demo()
from django.core.management import call_command  # noqa: E402

call_command("collectstatic", "--noinput", verbosity=0)

import numpy as np  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from registry.catalog.selectors import model_version_resolve  # noqa: E402
from registry.demo import diabetes  # noqa: E402
from registry.inference import score  # noqa: E402
from registry.interface import Interface, frame_records  # noqa: E402
from registry.models import Prediction, TrafficDay  # noqa: E402
from registry.monitoring import report as report_module  # noqa: E402
from registry.monitoring.estimation import monitoring_estimated_performance  # noqa: E402
from registry.monitoring.report import (  # noqa: E402
    monitoring_drift,
    monitoring_drift_over_time,
    monitoring_performance,
    monitoring_report,
    monitoring_traffic,
)
from registry.monitoring.rollup import traffic_days_fill_all  # noqa: E402
from registry.monitoring.windows import period_parse  # noqa: E402
from registry.runtime import version_estimator  # noqa: E402


def fill(version, rows: int) -> float:
    """Insert ``rows`` one-row answers with plain executemany; returns seconds taken."""
    rng = np.random.default_rng(0)
    demo = diabetes()
    interface = Interface(version.interface)
    pool = demo.train.sample(n=2000, replace=True, random_state=0).reset_index(drop=True)
    shifted = pool.copy()
    shifted["bmi"] = (shifted["bmi"] + 2 * demo.train["bmi"].std()).round(1)
    fields = {f.name: f for f in Prediction._meta.concrete_fields}

    def prepared(frame):
        inputs = frame_records(frame[interface.names])
        answers = score(version_estimator(version), interface.validate(inputs).frame, interface)
        prep = fields["inputs"].get_db_prep_save
        return [
            (prep([i], connection), prep([o], connection), float(t))
            for i, o, t in zip(inputs, answers.records(), frame[demo.target], strict=True)
        ]

    plain, moved = prepared(pool), prepared(shifted)
    feedback = [fields["feedback"].get_db_prep_save(t, connection) for _, _, t in plain]
    now = np.datetime64(timezone.now().replace(tzinfo=None), "us")
    ages = np.sort(rng.uniform(60, 30 * 86400, rows))[::-1]
    # Timestamps as the backends store them (UTC text on SQLite), made in one numpy call.
    created = np.datetime_as_string(now - (ages * 1e6).astype("timedelta64[us]"), unit="us")
    suffix = "+00:00" if connection.vendor == "postgresql" else ""
    sources = rng.choice(["api", "page", "batch"], size=rows, p=[0.9, 0.08, 0.02]).tolist()
    latency = rng.lognormal(np.log(2.0), 0.4, rows).round(3).tolist()
    labelled = (rng.random(rows) < 0.01).tolist()
    picks = rng.integers(0, len(plain), rows).tolist()
    recent = (ages < 7 * 86400).tolist()
    columns = [
        "id",
        "version_id",
        "source",
        "inputs",
        "outputs",
        "warnings",
        "row_count",
        "latency_ms",
        "name",
        "share_key",
        "feedback",
        "feedback_at",
        "created_at",
    ]
    table = Prediction._meta.db_table
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    empty = fields["warnings"].get_db_prep_save([], connection)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for first in range(0, rows, 20000):
            batch = []
            for i in range(first, min(rows, first + 20000)):
                inputs, outputs, _ = (moved if recent[i] else plain)[picks[i]]
                when = created[i].replace("T", " ") + suffix
                batch.append(
                    (
                        uuid.uuid4().hex,
                        version.pk,
                        sources[i],
                        inputs,
                        outputs,
                        empty,
                        1,
                        latency[i],
                        "",
                        "",
                        feedback[picks[i]] if labelled[i] else None,
                        when if labelled[i] else None,
                        when,
                    )
                )
            cursor.executemany(sql, batch)
    took = time.perf_counter() - started
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE " + table)  # visibility map: index-only scans
        else:
            cursor.execute("ANALYZE")
    return took


def timed(call, runs: int = 5) -> tuple[float, float, float, int]:
    """(first call ms, median wall ms and median CPU ms of the next ``runs``, queries of the
    last call). CPU time counts SQLite's work too (it runs in this process) and says what a
    call costs whatever else the machine is doing."""
    started = time.perf_counter()
    call()
    first = (time.perf_counter() - started) * 1000
    wall, cpu = [], []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started, started_cpu = time.perf_counter(), time.process_time()
            call()
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
    return first, statistics.median(wall), statistics.median(cpu), len(queries)


version = model_version_resolve(name="diabetes")
print(f"database: {connection.vendor}; filling {ROWS:,} predictions for diabetes v{version.number}")
stored = Prediction.objects.filter(version=version).count()
if stored >= ROWS:  # DATA_DIR of an earlier run: measure again without refilling
    print(f"  reusing the {stored:,} predictions already stored")
else:
    took = fill(version, ROWS)
    print(f"  filled in {took:.1f} s ({ROWS / took:,.0f} rows/s)")

# What the task worker does once a day is over (registry.monitoring.rollup.monitoring_rollup).
TrafficDay.objects.all().delete()
started = time.perf_counter()
summed = sum(traffic_days_fill_all().values())
print(f"  rollup: {summed} days summed in {time.perf_counter() - started:.1f} s")

User.objects.filter(username="bench").delete()
user = User.objects.create_user("bench", password="bench-only")
user.groups.add(Group.objects.get_or_create(name="manager")[0])
client = Client(SERVER_NAME="localhost")
client.force_login(user)
api = Client(
    HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}", SERVER_NAME="localhost"
)


def page():
    response = client.get("/models/diabetes/monitor/")
    assert response.status_code == 200, response.status_code
    assert b"drift in" in response.content


def api_call(chart: bool = False):
    response = api.get("/api/v1/models/diabetes/monitoring/", {"chart": "true"} if chart else {})
    assert response.status_code == 200, response.content[:300]


def clear_caches() -> None:
    for each in caches.all():
        each.clear()


def page_cold():
    clear_caches()
    page()


def page_cold_unrolled():
    """The page as it was before the rollup: every finished day read from the answers."""
    TrafficDay.objects.all().delete()
    # Not asked to sum the days again meanwhile (the worker would).
    rollup_soon = report_module._rollup_soon
    report_module._rollup_soon = lambda version: None
    try:
        page_cold()
    finally:
        report_module._rollup_soon = rollup_soon


def catalog_cold():
    clear_caches()
    assert client.get("/models/").status_code == 200


def dashboard_cold():
    clear_caches()
    assert client.get("/").status_code == 200


print("                              first ms  median ms  CPU ms  queries")
for label, call in (
    ("monitoring page", page),
    ("monitoring page, cache empty", page_cold),
    ("  … and no rollup", page_cold_unrolled),
    ("API", api_call),
    ("API with chart", lambda: api_call(True)),
    ("catalog, statuses not cached", catalog_cold),
    ("dashboard, statuses not cached", dashboard_cold),
):
    first, median, cpu, queries = timed(call)
    print(f"  {label:<28}{first:>9.0f}{median:>11.0f}{cpu:>8.0f}{queries:>9}")

traffic_days_fill_all()  # the line above dropped it
period = period_parse(version=version)
print("where the page's time goes (median of 5, warm cache unless said):")
for label, part in (
    (
        "traffic, cache empty (rollup)",
        lambda: (clear_caches(), monitoring_traffic(version=version, period=period)),
    ),
    (
        "traffic (aggregate + latencies)",
        lambda: monitoring_traffic(version=version, period=period),
    ),
    (
        "drift (newest 5,000 rows)",
        lambda: monitoring_drift(version=version, period=period, with_distributions=True),
    ),
    (
        "drift over time (15 windows)",
        lambda: monitoring_drift_over_time(version=version, period=period),
    ),
    (
        "performance (feedback)",
        lambda: monitoring_performance(version=version, period=period),
    ),
    (
        "estimated performance, cache empty",
        lambda: (
            clear_caches(),
            monitoring_estimated_performance(version=version, period=period),
        ),
    ),
):
    _, median, cpu, queries = timed(part)
    print(f"  {label:<34}{median:>8.0f} ms  (CPU {cpu:.0f} ms)  {queries} queries")
report = monitoring_report(version=version, period=period)
print(
    f"report: {report['traffic']['answers']:,} answers, drift {report['drift']['status']} "
    f"in {[r['input'] for r in report['drift']['inputs'] if r['drifted']]}, "
    f"latency {report['traffic']['latency_ms']}"
)
sys.stdout.flush()
