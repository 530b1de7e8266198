"""What-if page costs: server time of a redraw, and bytes of a first and a repeat visit.

    .venv/bin/python bench/whatif_redraw.py

The redraw is the request the page's script sends as a slider moves (the whatif view's JSON)
on the 10-input diabetes demo model:
answer, sensitivity curves for every input x 25 points, and (second row) a two-input heatmap.
It goes through the whole Django stack (middleware, session, view, template) in-process.
Bytes are counted as a browser would receive them with `Accept-Encoding: gzip, br`: the page,
then every stylesheet and script it links, served by whitenoise from collected static files;
a repeat visit re-fetches only the page (static files carry far-future cache headers).
"""

import os
import re
import sys
import tempfile
import time

os.environ.setdefault("STATIC_ROOT", tempfile.mkdtemp(prefix="model-portal-static-"))
from _setup import django_with_demo, percentiles

django_with_demo()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from registry.catalog.selectors import model_version_resolve  # noqa: E402
from registry.runtime import reference_frame, version_interface  # noqa: E402

call_command("collectstatic", "--noinput", verbosity=0)

user = User.objects.create_user("bench", password="bench-password")
user.groups.add(Group.objects.get(name="analyst"))
client = Client(HTTP_ACCEPT_ENCODING="gzip, br", SERVER_NAME="localhost")
client.force_login(user)

version = model_version_resolve(name="diabetes")
interface = version_interface(version)
rows = reference_frame(version)[interface.names].to_dict(orient="records")
url = "/models/diabetes/whatif/"


def redraw(params: dict, repeat: int = 300) -> dict[str, float]:
    samples = []
    for i in range(repeat):
        query = {k: str(v) for k, v in rows[i % len(rows)].items()} | params
        start = time.perf_counter()
        response = client.get(url, {**query, "format": "json"})
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    return percentiles(samples)


def body_bytes(response) -> int:
    if getattr(response, "streaming", False):
        return sum(len(chunk) for chunk in response.streaming_content)
    return len(response.content)


print(f"diabetes v{version.number}: {len(interface.names)} inputs, 25 sweep points per input")
for label, params in (("redraw", {}), ("redraw + heatmap", {"x": "bmi", "y": "age"})):
    redraw(params, repeat=20)  # warm caches
    r = redraw(params)
    print(
        f"  {label:<18} server time p50 {r['p50']:6.2f} ms  p90 {r['p90']:6.2f}  "
        f"p99 {r['p99']:6.2f}"
    )

page = client.get(url)
html = page.content
assets = re.findall(rb'(?:src|href)="(/static/[^"]+)"', html)
total, lines = len(html), [f"    page {url}: {len(html):,} bytes (uncompressed HTML)"]
for asset in assets:
    response = client.get(asset.decode())
    size = body_bytes(response)
    total += size
    lines.append(
        f"    {asset.decode()}: {size:,} bytes ({response.get('Content-Encoding', 'none')}, "
        f"{response.get('Cache-Control', 'no cache header')})"
    )
print(f"\nfirst visit: {total:,} bytes ({total / 1e6:.2f} MB)")
print("\n".join(lines))
print(f"repeat visit: {len(html):,} bytes (the page only; static files come from the cache)")
sys.exit(0)
