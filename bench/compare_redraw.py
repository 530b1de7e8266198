"""Compare page costs: server time of a redraw (its JSON) for 3 models x 10 inputs.

    .venv/bin/python bench/compare_redraw.py

Three versions of the demo diabetes model (the seeded gradient boosting, plus a ridge
regression and a random forest registered here on the same training rows) answer the same
row; every version then sweeps each of the 10 inputs over the merged range (25 points), and
the page draws the answers and the overlaid sensitivity panels. The request is the one the
page's script sends as a slider moves, through the whole Django stack (middleware, session, view,
template) in-process. The full page (with the reference-data section) is timed too: its
first load per process scores all versions on the reference rows, later loads reuse that.
"""

import sys
import time

from _setup import django_with_demo, percentiles

django_with_demo()

import skops.io as sio  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.test import Client  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.ensemble import RandomForestRegressor  # noqa: E402
from sklearn.linear_model import Ridge  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402

from registry.catalog.selectors import model_version_resolve  # noqa: E402
from registry.catalog.services import model_version_register  # noqa: E402
from registry.demo import diabetes  # noqa: E402
from registry.runtime import reference_frame, version_interface  # noqa: E402

demo = diabetes()
X, y = demo.train.drop(columns=demo.target), demo.train[demo.target]
numeric = [c for c in X.columns if c != "sex"]
for estimator in (Ridge(alpha=1.0), RandomForestRegressor(n_estimators=60, max_depth=5)):
    pipeline = make_pipeline(
        ColumnTransformer(
            [
                ("scale", StandardScaler(), numeric),
                ("sex", OneHotEncoder(handle_unknown="ignore"), ["sex"]),
            ]
        ),
        estimator,
    ).fit(X, y)
    model_version_register(
        name="diabetes",
        artifact=sio.dumps(pipeline),
        reference=demo.reference_csv(),
        target=demo.target,
    )

user = User.objects.create_user("bench", password="bench-password")
user.groups.add(Group.objects.get(name="analyst"))
client = Client(SERVER_NAME="localhost")
client.force_login(user)

specs = ["diabetes@1", "diabetes@2", "diabetes@3"]
version = model_version_resolve(name="diabetes", version=1)
interface = version_interface(version)
rows = reference_frame(version)[interface.names].to_dict(orient="records")
url = "/compare/"


def timed(headers: dict, repeat: int) -> dict[str, float]:
    samples = []
    for i in range(repeat):
        query = {"m": specs, **{k: str(v) for k, v in rows[i % len(rows)].items()}}
        start = time.perf_counter()
        response = client.get(url, query, headers=headers)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    return percentiles(samples)


start = time.perf_counter()
first = client.get(url, {"m": specs})
assert first.status_code == 200
print(
    f"{len(specs)} versions of diabetes, {len(interface.names)} inputs, 25 sweep points each; "
    f"first full page (reference rows scored): {(time.perf_counter() - start) * 1000:.0f} ms"
)
timed({"Accept": "application/json"}, repeat=20)  # warm caches
for label, headers in (("JSON redraw", {"Accept": "application/json"}), ("full page", {})):
    r = timed(headers, repeat=300 if headers else 100)
    print(
        f"  {label:<12} server time p50 {r['p50']:6.2f} ms  p90 {r['p90']:6.2f}  "
        f"p99 {r['p99']:6.2f}"
    )
redraw = client.get(url, {"m": specs, **rows[0]}, headers={"Accept": "application/json"})
print(f"  JSON redraw body: {len(redraw.content):,} bytes (uncompressed)")
sys.exit(0)
