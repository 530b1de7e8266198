"""Peak memory of a real gunicorn worker answering MLflow zip uploads (POST /api/v1/models/).

    .venv/bin/python bench/mlflow_upload_memory.py [--port 8150] [--cases bomb alias limit]
                                                   [--alias-depth 7]

For each case a fresh portal (gunicorn, the repo's gunicorn.conf.py, one worker, a throwaway
SQLite DATA_DIR) takes one upload from a manager's token; the worker's VmHWM (peak resident
memory, from /proc) is read after the answer, beside its VmHWM before the upload.

- ``bomb``: the red team's archive: a ~4 MB zip whose MLmodel member inflates to ~390 MB
  (each 1 MiB block 1.1% random, so the whole stays under the 100:1 ratio check).
- ``alias``: a few hundred bytes of MLmodel whose serialization_format is a YAML alias
  bomb nine wide and ``--alias-depth`` deep, echoed by the refusal before the fix.
- ``limit``: an archive at the upload limit (PORTAL_MAX_ARTIFACT_BYTES, 200 MiB): a valid
  MLmodel and a skops model file holding one array of random float64 that fills the limit,
  stored uncompressed. The registration is refused after the model is loaded (its width does
  not match the signature): the cost of loading the largest model file an upload may carry.

Measures and prints; never asserts.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path

from _setup import ROOT, gunicorn_launch

LIMIT = 200 * 1024 * 1024


def mlmodel(fmt: str = "skops") -> str:
    columns = json.dumps([{"type": "double", "name": "x", "required": True}])
    return (
        "flavors:\n  sklearn:\n    pickled_model: model.skops\n"
        f"    serialization_format: {fmt}\n"
        f"signature:\n  inputs: '{columns}'\n"
        "saved_input_example_info:\n  artifact_path: input_example.json\n"
        "  type: dataframe\n  pandas_orient: split\n"
    )


def bomb_zip() -> bytes:
    block = bytearray(1024 * 1024)
    block[: 12 * 1024] = os.urandom(12 * 1024)
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("MLmodel", "w", force_zip64=True) as member,
    ):
        for _ in range(390):
            member.write(block)
    return buffer.getvalue()


def alias_zip(depth: int) -> bytes:
    lines = ['l0: &l0 ["xxxxxxxx","xxxxxxxx","xxxxxxxx","xxxxxxxx","xxxxxxxx"]']
    for level in range(1, depth):
        lines.append(f"l{level}: &l{level} [" + ",".join([f"*l{level - 1}"] * 9) + "]")
    text = "\n".join(lines) + "\n" + mlmodel(f"*l{depth - 1}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("MLmodel", text)
    return buffer.getvalue()


def limit_zip() -> bytes:
    import numpy as np
    import skops.io as sio
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
    # float64 random numbers do not deflate: the file is as large as the array.
    model.coef_ = np.random.default_rng(0).random((LIMIT - 2 * 1024 * 1024) // 8)
    skops_bytes = sio.dumps(model, compression=zipfile.ZIP_STORED)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("MLmodel", mlmodel())
        archive.writestr("model.skops", skops_bytes)
        archive.writestr("input_example.json", '{"columns": ["x"], "data": [[0.5], [1.5]]}')
    return buffer.getvalue()


def multipart(fields: dict[str, str], name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="mlflow_model"; '
        f'filename="{name}"\r\nContent-Type: application/zip\r\n\r\n'.encode()
    )
    body = b"".join(parts) + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def worker_pid(master: int) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.2)
    raise SystemExit("gunicorn started no worker")


def hwm_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmHWM"))
    return int(line.split()[1]) / 1024


def run_case(name: str, archive: bytes, port: int, token: str) -> None:
    server = gunicorn_launch(workers=1, port=port, WEB_TIMEOUT="300")
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/v1/health/", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise SystemExit(server.stderr.read().decode()[-2000:]) from None
                time.sleep(0.3)
        pid = worker_pid(server.pid)
        before = hwm_mb(pid)
        body, kind = multipart({"name": "bench-mlflow"}, "model.zip", archive)
        request = urllib.request.Request(
            f"{base}/api/v1/models/",
            data=body,
            headers={"Authorization": f"Token {token}", "Content-Type": kind},
        )
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=600) as answer:
                status, text = answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read()
        elapsed = time.perf_counter() - start
        after = hwm_mb(pid)
        try:
            message = json.dumps(json.loads(text)["error"]["fields"])[:150]
        except (ValueError, KeyError, TypeError):
            message = text[:150].decode(errors="replace")
        print(
            f"{name:6} zip {len(archive) / 1e6:7.1f} MB -> HTTP {status} in {elapsed:6.2f} s, "
            f"answer {len(text):>11,} bytes; worker peak RSS {before:6.0f} MB idle, "
            f"{after:6.0f} MB after (+{after - before:.0f} MB)\n       {message}"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8150)
    parser.add_argument("--cases", nargs="+", default=["bomb", "alias", "limit"])
    parser.add_argument("--alias-depth", type=int, default=7)
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="model-portal-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["PORTAL_API_RATE"] = "10000/s"
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import Group, User
    from rest_framework.authtoken.models import Token

    user = User.objects.create_user("bench-manager")
    user.groups.add(Group.objects.get(name="manager"))
    token = Token.objects.create(user=user).key
    makers = {"bomb": bomb_zip, "alias": lambda: alias_zip(args.alias_depth), "limit": limit_zip}
    for case in args.cases:
        run_case(case, makers[case](), args.port, token)


if __name__ == "__main__":
    main()
