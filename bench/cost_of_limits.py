"""What the row budgets, the stored-rows quota and the kept explanation cost a legitimate user.

    .venv/bin/python bench/cost_of_limits.py

Through the real views (DRF's test client, a token, the throttles counting in the database,
SQLite in a throwaway DATA_DIR, the demo models; DEBUG on so pages need no collected static
files). Prints, per scenario, milliseconds per call and what the call stored:

- a one-row predict (p50/p99 of 500 calls);
- a compare of 6 models (breast-cancer versions named six ways) x 10,000 rows, as sent by
  default and with "save": true: seconds, Prediction rows and bytes of their JSON, and the
  database files' growth;
- an embed view by share link: the first and the following ones (p50 of 50);
- one analyst sending impossible counterfactual searches (breast-cancer, "malignant" for a
  benign row with 27 of 30 inputs fixed) one after another for 20 s, at the default
  PORTAL_ROW_RATE: how many were answered and how many refused.

Runs on any checkout (a "save" key is ignored where it is unknown), so the same script
measures before and after a change.
"""

import os
import time
from pathlib import Path

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("PORTAL_EMBED_RATE", "100000/min")  # the view's cost, not the throttle
os.environ.setdefault("PORTAL_ROW_RATE", "100000000/min")  # raised for all but the searches
from _setup import django_with_demo, percentiles

django_with_demo()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from registry.catalog.selectors import model_version_resolve  # noqa: E402
from registry.models import Prediction  # noqa: E402

user = User.objects.create_user("bench-analyst", password="unused")
user.groups.add(Group.objects.get_or_create(name="analyst")[0])
api = APIClient()
api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

version = model_version_resolve(name="breast-cancer")
names = [i["name"] for i in version.interface["inputs"]]
sample = [{k: r[k] for k in names} for r in version.reference_sample]
data_dir = Path(os.environ["DATA_DIR"])


def db_bytes() -> int:
    return sum(p.stat().st_size for p in data_dir.glob("db.sqlite3*"))


def stored_json_bytes() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(LENGTH(inputs) + LENGTH(outputs) + LENGTH(warnings)), 0)"
            " FROM registry_prediction"
        )
        return cursor.fetchone()[0]


def predict_one_row() -> None:
    body = {"inputs": [sample[0]]}
    path = "/api/v1/models/breast-cancer/predict/"
    for _ in range(50):
        api.post(path, body, format="json")
    samples = []
    for _ in range(500):
        start = time.perf_counter()
        response = api.post(path, body, format="json")
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.content[:300]
    p = percentiles(samples)
    print(f"one-row predict: p50 {p['p50']:.2f} ms, p99 {p['p99']:.2f} ms (500 calls)")


def compare(save: bool) -> None:
    rows = (sample * (10_000 // len(sample) + 1))[:10_000]
    models = ["breast-cancer@1", "breast-cancer@2", "breast-cancer@champion"] * 2
    before_rows, before_json, before_db = (
        Prediction.objects.count(),
        stored_json_bytes(),
        db_bytes(),
    )
    body = {"models": models, "inputs": rows, **({"save": True} if save else {})}
    start = time.perf_counter()
    response = api.post("/api/v1/compare/", body, format="json")
    seconds = time.perf_counter() - start
    assert response.status_code == 200, response.content[:300]
    print(
        f"compare 6 models x 10,000 rows{' (save)' if save else ''}: {seconds:.2f} s, "
        f"{Prediction.objects.count() - before_rows} predictions stored, "
        f"{(stored_json_bytes() - before_json) / 1e6:.1f} MB of JSON, "
        f"database files +{(db_bytes() - before_db) / 1e6:.1f} MB"
    )


def embed() -> None:
    response = api.post(
        "/api/v1/models/breast-cancer/predict/", {"inputs": [sample[1]]}, format="json"
    )
    link = response.json()["embed_url"].replace("http://testserver", "")
    browser = Client()
    start = time.perf_counter()
    assert browser.get(link).status_code == 200
    first = (time.perf_counter() - start) * 1000
    samples = []
    for _ in range(50):
        start = time.perf_counter()
        assert browser.get(link).status_code == 200
        samples.append((time.perf_counter() - start) * 1000)
    p = percentiles(samples)
    print(f"embed view: first {first:.1f} ms, then p50 {p['p50']:.1f} ms, p99 {p['p99']:.1f} ms")


def impossible_searches(seconds: float = 20.0) -> None:
    from rest_framework.settings import api_settings

    rates = api_settings.DEFAULT_THROTTLE_RATES
    rates["model_rows"] = "300000/min"  # the default, which the rest of this run raises
    body = {
        "inputs": sample[0],
        "target": "malignant",
        "fixed": names[3:],
        "max_changes": 3,
        "count": 10,
    }
    path = "/api/v1/models/breast-cancer/counterfactuals/"
    statuses: dict[int, int] = {}
    tried = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        response = api.post(path, body, format="json")
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if response.status_code == 200:
            message = response.json()["message"]
            tried.append(int(message.split(" rows tried")[0].rsplit("(", 1)[1]))
        else:
            time.sleep(0.05)  # a refused client waits a little, as a real one would
    mean = sum(tried) / len(tried) if tried else 0
    print(
        f"impossible searches for {seconds:.0f} s: {statuses.get(200, 0)} answered "
        f"(~{mean:,.0f} rows tried each), {statuses.get(429, 0)} refused 429"
    )


print(f"SQLite in {data_dir}; rows per call limit {settings.PORTAL['MAX_ROWS_PER_CALL']}")
predict_one_row()
compare(save=False)
compare(save=True)
embed()
impossible_searches()
