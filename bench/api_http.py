"""Single-row predict over HTTP: the portal's two APIs beside `mlflow models serve`.

    .venv/bin/python bench/api_http.py [--requests 3000] [--concurrency 1 8] [--workers 1 2]
                                       [--targets v1 v2 mlflow] [--model breast-cancer]
                                       [--shadow off on] [--cold 9]

Seeds a throwaway SQLite DATA_DIR with the demo models and a manager's token, starts gunicorn
on 127.0.0.1 (a free port) with the repo's gunicorn.conf.py, and POSTs the same one-row call
from client threads holding one connection each: to /api/v1/models/…/predict/ (v1) and to the
Open Inference Protocol's /v2/models/…/infer (v2). The model is the breast-cancer pipeline
(30 inputs); `--model wine` takes the demo's random forest, whose one-row call is mostly
per-call work that concurrent calls share (registry/coalescing.py). For mlflow, the same
model (the demo's champion, read from its skops file) is saved with MLflow in the skops
format, answering predict_proba, and served by `mlflow models serve --env-manager local`
with as many uvicorn workers, from the Python of a separate virtualenv: MLFLOW_PYTHON
(default .venv-mlflow/bin/python, built by `make .venv-mlflow/.installed` from
requirements-mlflow.txt; MLflow pins gunicorn<27 and cannot share the portal's). Without it
the mlflow line says why it is missing. MLflow stores nothing; the portal stores every call.

Prints requests/s, client-side p50/p99, the server's CPU time per request (all its
processes, from /proc), the server-side time the service stored (Prediction.latency_ms), the
raw in-process predict_proba of the same model, and cold start: from launching the server
process to its first answered call. One cold start is noisy (the same imports take 1.6-2.7 s
from run to run on a busy machine): `--cold 9` starts each target 9 more times, in turn, and
prints the medians and their ratio. Measures and prints; never asserts.

`--kind xgboost` / `--kind lightgbm` (issue 20) trains a booster of that library on the
breast-cancer rows (binary, 100 rounds, depth 4 / 15 leaves), registers its native file (JSON /
text) as "breast-cancer-<kind>", and has MLflow serve the same file through its own flavor
(`mlflow.xgboost` / `mlflow.lightgbm`); the raw line is then the booster's own predict.

`--shadow off on` measures the portal with the model's other version in shadow off, then on
(issue 21): both runs use the database task backend with a `db_worker` process beside the
server (as `make run` does), which answers the shadow's share after the fact; the line says how
many champion answers the worker had shadowed when the run ended.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from _setup import django_with_demo, free_port, gunicorn_launch, percentiles

ROOT = Path(__file__).resolve().parent.parent
MODEL = "breast-cancer"  # --model chooses another demo model

django_with_demo()

import pandas as pd  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from portal.v2.tensors import DATATYPE_OF  # noqa: E402
from registry.catalog.selectors import model_version_resolve  # noqa: E402
from registry.models import Prediction, RegisteredModel, Shadow, ShadowAnswer  # noqa: E402
from registry.releases.services import shadow_start, shadow_stop  # noqa: E402
from registry.runtime import version_estimator, version_interface  # noqa: E402


def manager_token() -> str:
    user, _ = User.objects.get_or_create(username="bench-manager")
    user.groups.add(Group.objects.get(name="manager"))
    return Token.objects.get_or_create(user=user)[0].key


def one_row() -> dict:
    version = model_version_resolve(name=MODEL)
    names = version_interface(version).names
    return {k: v for k, v in version.reference_sample[0].items() if k in names}


def raw_predict_ms(row: dict, repeat: int = 2000) -> dict[str, float]:
    """The estimator's own predict_proba on a one-row DataFrame built in advance."""
    version = model_version_resolve(name=MODEL)
    estimator = version_estimator(version)
    frame = pd.DataFrame([row])[version_interface(version).names]
    for _ in range(100):
        estimator.predict_proba(frame)
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        estimator.predict_proba(frame)
        samples.append((time.perf_counter() - start) * 1000)
    return percentiles(samples)


def booster_own_ms(row: dict, repeat: int = 2000) -> dict[str, float]:
    """The native library's own one-row predict on a matrix built in advance: XGBoost's
    inplace_predict, LightGBM's predict (one thread each, as the portal asks them)."""
    version = model_version_resolve(name=MODEL)
    booster = version_estimator(version).booster
    matrix = pd.DataFrame([row])[version_interface(version).names].to_numpy(dtype="float64")
    if hasattr(booster, "inplace_predict"):

        def answer():
            return booster.inplace_predict(matrix)
    else:

        def answer():
            return booster.predict(matrix, num_threads=1)

    for _ in range(100):
        answer()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        answer()
        samples.append((time.perf_counter() - start) * 1000)
    return percentiles(samples)


def queries_per_predict(body: bytes, token: str) -> int:
    """Database queries one token-authenticated predict costs, once the process is warm."""
    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="localhost")
    path = f"/api/v1/models/{MODEL}/predict/"
    client.post(path, body, content_type="application/json")
    with CaptureQueriesContext(connection) as queries:
        response = client.post(path, body, content_type="application/json")
    if response.status_code != 200:
        raise SystemExit(f"predict failed: {response.content[:500]!r}")
    return len(queries)


def server_cpu_seconds(root: int) -> float:
    """CPU time (user + system) so far of a server process and all its descendants (Linux),
    with what the workers it already replaced (gunicorn's max_requests) had used."""
    parents, cpu = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        ticks = int(fields[11]) + int(fields[12])
        if pid == root:  # its reaped children's time (cutime, cstime): workers replaced
            ticks += int(fields[13]) + int(fields[14])
        cpu[pid] = ticks / os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid, seconds in cpu.items():
        ancestor = pid
        while ancestor > 1 and ancestor != root:
            ancestor = parents.get(ancestor, 0)
        if ancestor == root:
            total += seconds
    return total


def start_gunicorn(workers: int, port: int, **env: str) -> subprocess.Popen:
    # The per-user rate limit (6000/min by default) would throttle a run that measures
    # throughput, not the limit.
    return gunicorn_launch(workers=workers, port=port, PORTAL_API_RATE="10000/s", **env)


def shadow_set(on: bool) -> None:
    """Put the model's other version in shadow (on), or stop any shadow (off)."""
    model = RegisteredModel.objects.get(name=MODEL)
    if on:
        champion = model_version_resolve(name=MODEL)
        other = model.versions.exclude(pk=champion.pk).order_by("-number").first()
        if other is None:
            raise SystemExit(f"{MODEL} has one version: nothing to put in shadow.")
        shadow_start(model=model, number=other.number, user=None)
    elif Shadow.objects.filter(model=model, ended_at=None).exists():
        shadow_stop(model=model, user=None)


def start_task_worker() -> subprocess.Popen:
    # Background work yields the CPU to the web workers: on a host that serves calls too,
    # the worker runs at the lowest priority (as the README recommends for shadows).
    return subprocess.Popen(
        [*("nice", "-n", "19", sys.executable, "manage.py", "db_worker"), "--no-reload"],
        cwd=ROOT,
        env={**os.environ, "TASK_BACKEND": "database"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def first_answer(process: subprocess.Popen, port: int, call: Call, started: float) -> float:
    """Seconds from launching the server to its first 200 to ``call``."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("POST", call.path, call.body, call.headers)
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                return time.perf_counter() - started
            raise SystemExit(f"{call.path} answered {response.status}")
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.02)
    process.kill()
    raise SystemExit(f"the server did not answer: {process.stderr.read().decode()[-2000:]}")


@dataclass
class Call:
    path: str
    body: bytes
    headers: dict[str, str]


# What any Python server of a scikit-learn pipeline imports before its first answer: pandas,
# the pipeline's scikit-learn modules and skops (as the portal imports it, without skops' list of
# every estimator). The portal's cold start less this is Django, DRF and the portal itself.
FLOOR = """
import pandas, sklearn.compose, sklearn.linear_model, sklearn.pipeline, sklearn.preprocessing
import sklearn.utils
sklearn.utils.all_estimators = lambda type_filter=None: []
import skops.io
"""


def import_floor_s(runs: int = 3) -> float:
    """Median seconds a fresh Python takes to import FLOOR (interpreter start included)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-W", "ignore", "-c", FLOOR], check=True)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def mlflow_python() -> Path | None:
    python = Path(os.environ.get("MLFLOW_PYTHON") or ROOT / ".venv-mlflow/bin/python")
    return python if python.exists() else None


SAVE_WITH_MLFLOW = """
import json, sys
import pandas as pd, skops.io as sio, mlflow.sklearn
from mlflow.models import infer_signature
artifact, out, row = sys.argv[1:4]
# The bench's own file (the portal checked it at registration): its types are trusted.
trusted = sio.get_untrusted_types(file=artifact)
estimator = sio.load(artifact, trusted=trusted)
frame = pd.DataFrame([json.loads(row)])
mlflow.sklearn.save_model(
    estimator, out, serialization_format="skops", pyfunc_predict_fn="predict_proba",
    signature=infer_signature(frame, estimator.predict_proba(frame)),
    skops_trusted_types=trusted,
)
"""


# The same booster file through MLflow's own flavor for it.
SAVE_BOOSTER_WITH_MLFLOW = """
import json, sys
import pandas as pd
from mlflow.models import infer_signature
kind, artifact, out, row = sys.argv[1:5]
frame = pd.DataFrame([json.loads(row)])
if kind == "xgboost":
    import xgboost as xgb, mlflow.xgboost
    booster = xgb.Booster(model_file=artifact)
    answer = booster.predict(xgb.DMatrix(frame))
    mlflow.xgboost.save_model(booster, out, model_format="json",
                              signature=infer_signature(frame, answer))
else:
    import lightgbm as lgb, mlflow.lightgbm
    booster = lgb.Booster(model_file=artifact)
    answer = booster.predict(frame)
    mlflow.lightgbm.save_model(booster, out, signature=infer_signature(frame, answer))
"""

# The booster each --kind trains, on the breast-cancer rows (binary: malignant or not).
ROUNDS = 100


def booster_register(kind: str) -> str:
    """Train a ``kind`` booster on the demo's breast-cancer reference rows and register its
    native file; the model's name."""
    import io

    from registry.catalog.services import model_version_register

    version = model_version_resolve(name="breast-cancer")
    names = version_interface(version).names
    target = version.interface["output"]["target"]
    frame = pd.DataFrame.from_records(version.reference_sample)
    classes = sorted(frame[target].unique())
    X, y = frame[names].astype("float64"), (frame[target] == classes[1]).astype(int)
    if kind == "xgboost":
        import xgboost as xgb

        params = {"objective": "binary:logistic", "max_depth": 4, "nthread": 1, "seed": 0}
        booster = xgb.train(params, xgb.DMatrix(X, label=y), num_boost_round=ROUNDS)
        artifact = bytes(booster.save_raw(raw_format="json"))
    else:
        import lightgbm as lgb

        params = {"objective": "binary", "num_leaves": 15, "verbose": -1, "num_threads": 1}
        booster = lgb.train(params | {"seed": 0}, lgb.Dataset(X, y), num_boost_round=ROUNDS)
        artifact = booster.model_to_string().encode()
    reference = io.StringIO()
    frame[[*names, target]].to_csv(reference, index=False)
    name = f"breast-cancer-{kind}"
    model_version_register(
        name=name,
        artifact=artifact,
        reference=reference.getvalue().encode(),
        target=target,
        alias="champion",
    )
    return name


def mlflow_model(python: Path, row: dict, kind: str = "sklearn") -> Path:
    """The model saved by MLflow in a temporary directory: the demo's champion in the skops
    format, or a booster's own file through MLflow's flavor for it (``kind``)."""
    from registry.artifacts.store import artifact_read

    version = model_version_resolve(name=MODEL)
    folder = Path(tempfile.mkdtemp(prefix="bench-mlflow-"))
    suffix = {"sklearn": "skops", "xgboost": "json", "lightgbm": "txt"}[kind]
    artifact = folder / f"champion.{suffix}"
    artifact.write_bytes(artifact_read(path=version.artifact, sha256=version.artifact_sha256))
    script = (SAVE_WITH_MLFLOW,) if kind == "sklearn" else (SAVE_BOOSTER_WITH_MLFLOW, kind)
    saved = subprocess.run(
        [
            str(python),
            "-c",
            *script,
            str(artifact),
            str(folder / "model"),
            json.dumps(row),
        ],
        capture_output=True,
        text=True,
    )
    if saved.returncode:
        raise SystemExit(f"MLflow could not save the model:\n{saved.stderr[-3000:]}")
    return folder / "model"


def start_mlflow(python: Path, model: Path, workers: int, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(python),
            "-m",
            "mlflow",
            "models",
            "serve",
            "-m",
            str(model),
            "--env-manager",
            "local",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env={
            **os.environ,
            # `mlflow models serve` runs the uvicorn of its own virtualenv.
            "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # stop its whole tree at the end
    )


def stop(process: subprocess.Popen) -> None:
    """Stop a server this script started: MLflow's whole session (it starts uvicorn), or
    gunicorn (its master stops its workers)."""
    if process.poll() is None:
        if process.args[1:3] == ["-m", "mlflow"]:
            os.killpg(process.pid, signal.SIGTERM)
        else:
            process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def load(port: int, call: Call, requests: int, concurrency: int) -> dict:
    """``requests`` POSTs from ``concurrency`` threads; latencies in ms, wall time in s."""
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    share = [requests // concurrency + (i < requests % concurrency) for i in range(concurrency)]
    start_line = threading.Barrier(concurrency + 1)

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, bad = [], []
        start_line.wait()
        for _ in range(n):
            started = time.perf_counter()
            conn.request("POST", call.path, call.body, call.headers)
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                bad.append(response.status)
        conn.close()
        with lock:
            latencies.extend(mine)
            failures.extend(bad)

    threads = [threading.Thread(target=client, args=(n,)) for n in share]
    for t in threads:
        t.start()
    start_line.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    return {"wall": wall, "latencies": latencies, "failures": failures}


def calls(token: str, row: dict) -> dict[str, Call]:
    auth = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    kinds = version_interface(model_version_resolve(name=MODEL)).by_name
    tensors = [
        {
            "name": name,
            "datatype": DATATYPE_OF.get(kinds[name].type, "BYTES"),
            "shape": [1],
            "data": [value],
        }
        for name, value in row.items()
    ]
    split = {"dataframe_split": {"columns": list(row), "data": [list(row.values())]}}
    return {
        "v1": Call(
            f"/api/v1/models/{MODEL}/predict/", json.dumps({"inputs": [row]}).encode(), auth
        ),
        "v2": Call(f"/v2/models/{MODEL}/infer", json.dumps({"inputs": tensors}).encode(), auth),
        "mlflow": Call(
            "/invocations", json.dumps(split).encode(), {"Content-Type": "application/json"}
        ),
    }


def start_server(target: str, python, model, workers: int, port: int) -> subprocess.Popen:
    """MLflow serving ``model``, or the portal (either API), with ``workers`` workers."""
    if target == "mlflow":
        return start_mlflow(python, model, workers, port)
    return start_gunicorn(workers, port)


def cold_starts(targets, the_calls, python, model, rounds: int) -> None:
    """Start each target ``rounds`` times, one after the other in turn (so a noisy spell on
    the machine falls on every target alike), and print each one's median cold start."""
    seconds: dict[str, list[float]] = {target: [] for target in targets}
    for _ in range(rounds):
        for target in targets:
            port = free_port()
            launched = time.perf_counter()
            server = start_server(target, python, model, 1, port)
            try:
                seconds[target].append(first_answer(server, port, the_calls[target], launched))
            finally:
                stop(server)
    print(f"  cold start, one worker, {rounds} starts of each in turn:")
    medians = {target: percentiles(runs)["p50"] for target, runs in seconds.items()}
    for target, runs in seconds.items():
        versus = ""
        if "mlflow" in medians and target != "mlflow":
            versus = f"  ({medians[target] / medians['mlflow']:.3f}x mlflow's)"
        print(
            f"  {target:>7} median {medians[target]:.2f} s, "
            f"{min(runs):.2f}-{max(runs):.2f} s{versus}"
        )


def main() -> None:
    global MODEL
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--targets", nargs="+", default=["v1", "v2", "mlflow"])
    parser.add_argument("--model", default=MODEL, help="a demo model (default: %(default)s)")
    parser.add_argument("--shadow", nargs="+", choices=["off", "on"], default=None)
    parser.add_argument("--kind", choices=["sklearn", "xgboost", "lightgbm"], default="sklearn")
    parser.add_argument(
        "--cold",
        type=int,
        default=0,
        metavar="N",
        help="also start each target N more times, interleaved, and print its median cold start",
    )
    args = parser.parse_args()
    MODEL = args.model if args.kind == "sklearn" else booster_register(args.kind)

    token = manager_token()
    row = one_row()
    the_calls = calls(token, row)
    raw = raw_predict_ms(row)
    queries = queries_per_predict(the_calls["v1"].body, token)
    # Keep one connection to the database open, as the task worker does under `make run`.
    # With SQLite, settings close the connection after every request; when that is the
    # last connection, SQLite checkpoints the WAL on close (2-3 ms per request).
    connection.ensure_connection()

    print(f"\n{MODEL}: single-row predict over HTTP ({len(row)} inputs)")
    print(f"  {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before the run")
    print(f"  raw in-process predict_proba on a 1-row DataFrame: p50 {raw['p50']:.3f} ms")
    if args.kind != "sklearn":
        own = booster_own_ms(row)
        print(f"  the booster's own one-row predict (the floor): p50 {own['p50']:.3f} ms")
    print(f"  queries per token-authenticated predict: {queries}")
    python = mlflow_python() if "mlflow" in args.targets else None
    if "mlflow" in args.targets and python is None:
        print(
            "  mlflow: skipped, no MLflow Python at MLFLOW_PYTHON or .venv-mlflow/bin/python "
            "(make .venv-mlflow/.installed builds it; MLflow cannot share the portal's venv)"
        )
    model = mlflow_model(python, row, args.kind) if python else None
    targets = [t for t in args.targets if t != "mlflow" or model is not None]
    print(
        f"  {'server':>7} {'workers':>7} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'CPU ms/req':>10} {'stored p50':>10} {'errors':>6} {'cold s':>6}"
    )
    runs = [(w, t, s) for w in args.workers for t in targets for s in args.shadow or [None]]
    for workers, target, shadow in runs:
        call = the_calls[target]
        port = free_port()
        launched = time.perf_counter()
        worker = None
        if target == "mlflow" or shadow is None:
            server = start_server(target, python, model, workers, port)
        else:
            shadow_set(shadow == "on")
            worker = start_task_worker()
            server = start_gunicorn(workers, port, TASK_BACKEND="database")
        try:
            cold = first_answer(server, port, call, launched)
            load(port, call, 300, max(args.concurrency))  # warm every worker
            for concurrency in args.concurrency:
                stamp = timezone.now()
                cpu_before = server_cpu_seconds(server.pid)
                result = load(port, call, args.requests, concurrency)
                cpu_ms = (server_cpu_seconds(server.pid) - cpu_before) * 1000 / args.requests
                stored = list(
                    Prediction.objects.filter(created_at__gte=stamp)
                    .exclude(source="shadow")
                    .values_list("latency_ms", flat=True)
                )
                if target == "mlflow":
                    stored_p50 = "-"
                else:
                    if len(stored) != args.requests:
                        print(f"    ! {len(stored)} calls stored of {args.requests} answered")
                    stored_p50 = f"{percentiles(stored)['p50']:.3f}"
                client = percentiles(result["latencies"])
                print(
                    f"  {target:>7} {workers:>7} {concurrency:>4} "
                    f"{args.requests / result['wall']:>8.0f} {client['p50']:>8.2f} "
                    f"{client['p99']:>8.2f} {cpu_ms:>10.2f} {stored_p50:>10} "
                    f"{len(result['failures']):>6} {cold:>6.2f}"
                )
                if result["failures"]:
                    print(f"    statuses of the errors: {sorted(set(result['failures']))}")
                if shadow is not None:
                    shadowed = ShadowAnswer.objects.filter(champion__created_at__gte=stamp).count()
                    print(f"    shadow {shadow}: {shadowed} answers shadowed by the worker")
        finally:
            stop(server)
            if worker is not None:
                stop(worker)
    if args.cold:
        cold_starts(targets, the_calls, python, model, args.cold)
    print(f"  load average {os.getloadavg()[0]:.1f} after the run")
    if args.kind == "sklearn":
        print(
            "  cold floor: a bare Python importing pandas, scikit-learn, skops: "
            f"{import_floor_s():.2f} s"
        )
    print(
        "\n  CPU ms/req: CPU time of the server's processes (master and workers) per request."
        "\n  stored p50: Prediction.latency_ms, the time prediction_run measures (validate and "
        "predict)\n  before storing; every call is stored (a shortfall is printed)."
        "\n  cold s: from launching the server process to its first answered call."
    )


if __name__ == "__main__":
    sys.exit(main())
