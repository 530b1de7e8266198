"""Worst-case memory of every upload path, measured on the processes that pay it.

    .venv/bin/python bench/upload_memory.py [--quick]     (about 4 minutes, on an idle machine)

A fresh gunicorn worker (one thread) over a file SQLite database with the demo's diabetes
ridge (10 inputs) serves each body; the figure is the worker's peak resident memory while it
answers, above what it held before (VmHWM reset through /proc/<pid>/clear_refs), with the
status and the seconds the answer took. Batch files go through the API (web worker) and are
scored by a real ``manage.py db_worker``, whose own peak is given. Each path gets its worst
body at its limit (the most objects per byte a parser can be asked to build, or the most an
archive may inflate to) and a legitimate call of 10,000 rows where there is one.
``--quick`` uses 1/8 of each limit (a smoke run).
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
from _setup import free_port

from tests import processes as p

QUICK = "--quick" in sys.argv
MB = 1024 * 1024
TOKEN = "b" * 40

SETUP = """
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from registry.demo import diabetes
from registry.catalog.services import model_version_register

call_command("migrate", interactive=False, verbosity=0)
user = User.objects.create_user("bench")
user.groups.add(Group.objects.get(name="manager"))
Token.objects.create(user=user, key={token!r})
demo = diabetes()
version = demo.versions[1]  # the ridge: scoring cost is not what is measured
model_version_register(name="diabetes", artifact=demo.artifact(version),
                       reference=demo.reference_csv(), target=demo.target, alias="champion")
demo.reference.to_csv({reference!r}, index=False)
"""


def sparse_bytes(size: int, ratio: float, seed: int = 0) -> bytes:
    """``size`` bytes that deflate about ``ratio`` times (zeros with sparse random bytes),
    built from one 1 MiB block: deflate's 32 KiB window cannot see that it repeats."""
    rng = np.random.default_rng(seed)
    block = np.zeros(MB, np.uint8)
    picked = rng.random(MB) < 0.25 / ratio
    block[picked] = rng.integers(1, 255, int(picked.sum()))
    return (block.tobytes() * (size // MB + 1))[:size]


MLMODEL = """flavors:
  python_function: {{loader_module: mlflow.sklearn, model_path: model.skops}}
  sklearn: {{pickled_model: model.skops, serialization_format: skops, sklearn_version: 1.9.1}}
mlflow_version: 3.17.2
signature: {{inputs: '{inputs}', outputs: null}}
"""


def inflating_skops(names: list[str], size: int, ratio: float, compression: int) -> bytes:
    """A skops file of a linear model on ``names`` whose ``coef_`` is an array of ``size``
    bytes deflating about ``ratio`` times (with ``ZIP_DEFLATED``), written in 1 MiB steps."""
    import skops.io as sio
    from sklearn.linear_model import LinearRegression

    x = np.arange(len(names) * 20, dtype=float).reshape(20, len(names))
    model = LinearRegression().fit(x, x.sum(axis=1))
    original = zipfile.ZipFile(io.BytesIO(sio.dumps(model)))
    coef = json.loads(original.read("schema.json"))["content"]["content"]["coef_"]["file"]
    block = sparse_bytes(MB, ratio)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for info in original.infolist():
            if info.filename != coef:
                archive.writestr(info.filename, original.read(info))
                continue
            count = size // 8
            with archive.open(coef, "w", force_zip64=True) as member:
                header = {"descr": "<f8", "fortran_order": False, "shape": (count,)}
                np.lib.format.write_array_header_1_0(member, header)
                left = count * 8
                while left:
                    member.write(block[: min(MB, left)])
                    left -= min(MB, left)
    return out.getvalue()


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, dict]:
    boundary = "measured-boundary-7d1c"
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(value.encode() + b"\r\n")
    for name, (filename, data) in files.items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
        )
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="upload-memory-") as folder:
        measure(Path(folder))


def measure(tmp: Path) -> None:
    data = tmp / "data"
    data.mkdir()
    env = p.environment(data, TASK_BACKEND="database")
    body_limit = 16 * MB
    artifact_limit = 200 * MB
    unpacked_limit = 1024 * MB
    scale = 8 if QUICK else 1
    started = time.perf_counter()
    p.django_shell(env, SETUP.format(token=TOKEN, reference=str(tmp / "reference.csv")))
    print(f"setup {time.perf_counter() - started:.0f} s; limits /{scale}" if QUICK else "")
    import pandas as pd

    reference = pd.read_csv(tmp / "reference.csv").drop(columns="progression")
    names = list(reference.columns)
    legit = reference.sample(10_000, replace=True, random_state=0).to_dict("records")
    for row in legit:
        row["age"] = int(row["age"])
    datatypes = {n: "BYTES" if n == "sex" else "INT64" if n == "age" else "FP64" for n in names}
    auth = {"Authorization": f"Token {TOKEN}"}
    json_headers = {**auth, "Content-Type": "application/json"}
    rows_v1 = "/api/v1/models/diabetes/predict/"
    infer = "/v2/models/diabetes/infer"
    v2_json = json.dumps(
        {
            "inputs": [
                {
                    "name": n,
                    "datatype": datatypes[n],
                    "shape": [len(legit)],
                    "data": [row[n] for row in legit],
                }
                for n in names
            ]
        }
    ).encode()
    v2_binary, v2_binary_headers = p.v2_binary_rows(legit, datatypes)
    bool_body, bool_headers = p.v2_binary_bool("age", body_limit // scale)
    cases = [
        (
            "v1 JSON",
            "10,000 rows (inputs)",
            rows_v1,
            json.dumps({"inputs": legit}).encode(),
            json_headers,
        ),
        (
            "v1 JSON",
            "dataframe_split of empty rows",
            rows_v1,
            p.v1_split_empty_rows(body_limit // scale),
            json_headers,
        ),
        (
            "v1 JSON",
            "inputs of empty objects",
            rows_v1,
            p.v1_empty_records(body_limit // scale),
            json_headers,
        ),
        ("v2 JSON", "10,000 rows", infer, v2_json, auth),
        (
            "v2 JSON",
            "a tensor of empty lists",
            infer,
            p.v2_json_empty_values("age", body_limit // scale),
            auth,
        ),
        ("v2 binary", "10,000 rows", infer, v2_binary, {**auth, **v2_binary_headers}),
        ("v2 binary", "one BOOL tensor of 1-byte rows", infer, bool_body, {**auth, **bool_headers}),
    ]
    # skops: a fitted model whose coef_ member inflates ~150x (under the 200x check) to the
    # unpacked limit. MLflow zip: a model.skops of the file limit (its array stored, so the
    # zip's own deflate does the ~80x, under its 100x check).
    reference_csv = (tmp / "reference.csv").read_bytes()
    skops_file = inflating_skops(names, unpacked_limit // scale - MB, 150, zipfile.ZIP_DEFLATED)
    inner = inflating_skops(names, artifact_limit // scale - MB, 80, zipfile.ZIP_STORED)
    mlflow_zip = io.BytesIO()
    with zipfile.ZipFile(mlflow_zip, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "model/MLmodel",
            MLMODEL.format(
                inputs=json.dumps(
                    [
                        {"type": "string" if n == "sex" else "double", "name": n, "required": True}
                        for n in names
                    ]
                )
            ),
        )
        archive.writestr("model/model.skops", inner)
    del inner
    for label, what, fields, files in (
        (
            "skops",
            f"{len(skops_file) / MB:.1f} MB file inflating to {unpacked_limit // scale // MB} MiB",
            {"name": "uploaded", "target": "progression"},
            {
                "artifact": ("model.skops", skops_file),
                "reference_data": ("reference.csv", reference_csv),
            },
        ),
        (
            "MLflow zip",
            f"zip, model.skops of {artifact_limit // scale // MB} MiB",
            {"name": "uploaded-mlflow", "target": "progression"},
            {
                "mlflow_model": ("model.zip", mlflow_zip.getvalue()),
                "reference_data": ("reference.csv", reference_csv),
            },
        ),
    ):
        body, headers = multipart(fields, files)
        cases.append((label, what, "/api/v1/models/", body, {**auth, **headers}))

    results = []
    warm = json.dumps({"inputs": legit[:1]}).encode()
    for label, what, path, body, headers in cases:
        # A fresh worker each time: memory a previous body left behind would hide growth.
        served = p.gunicorn_serve(env, free_port(), tmp / "web.log")
        try:
            served.request("POST", rows_v1, warm, json_headers)  # the model loaded, answered
            status, answer, before, grown, seconds = served.measured("POST", path, body, headers)
        finally:
            served.stop()
        results.append((label, what, len(body), status, before, grown, seconds))
        print(f"{label:10} {what:45} {status} +{grown:6.0f} MB  {seconds:6.2f} s", flush=True)
        if status >= 400:
            print(f"           {answer[:300].decode(errors='replace')}")
    served = p.gunicorn_serve(env, free_port(), tmp / "web.log")
    try:
        results += batch(served, tmp, env, reference, auth, scale)
    finally:
        served.stop()
    print("\n| path | body | status | worker memory before | peak growth | seconds |")
    print("|---|---|---|---|---|---|")
    for label, what, size, status, before, grown, seconds in results:
        print(
            f"| {label} | {what} ({size / MB:.1f} MB) | {status} | {before:.0f} MB "
            f"| +{grown:.0f} MB | {seconds:.2f} |"
        )


def batch(served, tmp: Path, env, reference, auth, scale: int) -> list[tuple]:
    """Batch files: uploaded through the API (web worker), scored by one db_worker."""
    import pandas as pd

    frame = reference.sample(2_000, replace=True, random_state=1).reset_index(drop=True)
    wide = pd.concat(
        [frame, pd.DataFrame(1, index=frame.index, columns=[f"x{i}" for i in range(990)])], axis=1
    )
    files = {
        "1,000 columns (the cap)": (wide, 64 * MB // scale),
        "10 inputs": (frame, 50 * MB // scale),
    }
    results = []
    for what, (rows, size) in files.items():
        text = rows.to_csv(index=False).encode()
        header, body = text.split(b"\n", 1)
        data = header + b"\n" + (body * (size // len(body) + 1))[: size - len(header)]
        data = data[: data.rfind(b"\n") + 1]
        upload, headers = multipart({"alias": "champion"}, {"file": ("rows.csv", data)})
        worker = p.task_worker(env, tmp / "worker.log")
        time.sleep(5)  # started and idle: what it holds before the file is its own
        held = p.memory_mb(worker.pid, "VmRSS")
        p.peak_reset(worker.pid)
        status, answer, before, grown, seconds = served.measured(
            "POST", "/api/v1/models/diabetes/batch/", upload, {**auth, **headers}
        )
        results.append(("batch CSV (web)", what, len(data), status, before, grown, seconds))
        print(f"batch web  {what:45} {status} +{grown:6.0f} MB  {seconds:6.2f} s", flush=True)
        job = json.loads(answer)["id"]
        started = time.perf_counter()
        while True:
            _, state = served.request("GET", f"/api/v1/jobs/{job}/", headers=auth)
            state = json.loads(state)
            if state["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.5)
        seconds = time.perf_counter() - started
        grown = p.memory_mb(worker.pid) - held
        worker.terminate()
        worker.wait(timeout=30)
        results.append(
            ("batch CSV (task worker)", what, len(data), state["status"], held, grown, seconds)
        )
        print(f"batch task {what:45} {state['status']} +{grown:6.0f} MB  {seconds:6.2f} s")
    return results


if __name__ == "__main__":
    main()
