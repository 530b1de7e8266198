"""The hot path of answering a model call: who is calling and which version they mean.

Each call asks the database two small indexed questions and nothing else before it predicts:

- ``portal.web.auth.caller_find``: the token's user and role, in one query (a token joined to
  its user, with the user's highest role group as a subquery);
- :func:`served_version_find`: the version a name and an optional number or alias mean, in one
  query that returns only its id and creation time.

Both are asked on every request, so a revoked token, a changed role or a moved champion take
effect on the next request in every process, whatever the cache backend. What never changes —
a registered version (its row, its interface, its estimator) — is kept per process by id,
creation time (an id alone can come back after a rollback) and revision (what is actionable
may change without a new version).
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections import OrderedDict
from typing import Any

from django.db import connection

from registry.catalog.selectors import CHAMPION, NOT_FOR_PREDICTING, model_version_resolve
from registry.models import Alias, Canary, ModelVersion, RegisteredModel, version_number_storable

_sql_cache: dict[tuple[str, str], str] = {}


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _version_sql(kind: str) -> str:
    key = (connection.vendor, kind)
    sql = _sql_cache.get(key)
    if sql is None:
        v, m, a = ModelVersion._meta, RegisteredModel._meta, Alias._meta
        head = (
            f"SELECT v.{_q('id')}, v.{_q('created_at')}, v.{_q('revision')} FROM {_q(v.db_table)} v"
            f" JOIN {_q(m.db_table)} m ON m.{_q('id')} = v.{_q('model_id')}"
        )
        if kind == "number":
            sql = f"{head} WHERE m.{_q('name')} = %s AND v.{_q('number')} = %s"
        elif kind == "alias":
            sql = (
                f"{head} JOIN {_q(a.db_table)} a ON a.{_q('version_id')} = v.{_q('id')}"
                f" WHERE m.{_q('name')} = %s AND a.{_q('name')} = %s"
            )
        else:
            # The champion if there is one, else the newest version not archived; and the
            # model's live canary, if any (the release's door: see ``_canary_choice``).
            c, k = Canary._meta, "cv"
            sql = (
                f"SELECT v.{_q('id')}, v.{_q('created_at')}, v.{_q('revision')},"
                f" c.{_q('id')}, c.{_q('percent')}, c.{_q('sticky')},"
                f" {k}.{_q('id')}, {k}.{_q('created_at')}, {k}.{_q('revision')}"
                f" FROM {_q(v.db_table)} v"
                f" JOIN {_q(m.db_table)} m ON m.{_q('id')} = v.{_q('model_id')}"
                f" LEFT JOIN {_q(c.db_table)} c ON c.{_q('model_id')} = m.{_q('id')}"
                f" AND c.{_q('ended_at')} IS NULL"
                f" LEFT JOIN {_q(v.db_table)} {k} ON {k}.{_q('id')} = c.{_q('version_id')}"
                f" LEFT JOIN {_q(a.db_table)} a ON a.{_q('version_id')} = v.{_q('id')}"
                f" AND a.{_q('name')} = %s"
                f" WHERE m.{_q('name')} = %s"
                f" AND (a.{_q('id')} IS NOT NULL OR v.{_q('archived_at')} IS NULL)"
                f" ORDER BY CASE WHEN a.{_q('id')} IS NULL THEN 1 ELSE 0 END,"
                f" v.{_q('number')} DESC LIMIT 1"
            )
        _sql_cache[key] = sql
    return sql


_versions: OrderedDict[tuple[Any, Any], ModelVersion] = OrderedDict()
_versions_lock = threading.Lock()
MAX_CACHED_VERSIONS = 256


def _canary_choice(row: tuple, caller: Any) -> tuple | None:
    """The canary's (id, created_at, revision) when this call is one it answers, else None.

    A call is the canary's with probability ``percent``/100: drawn afresh per call, or, when
    the canary is ``sticky``, from a hash of the caller and the canary (the same caller gets
    the same version for the canary's life; an anonymous caller is drawn per call).
    """
    canary_id, percent, sticky = row[3], row[4], row[5]
    if canary_id is None or row[6] is None:
        return None
    if sticky and caller is not None:
        digest = hashlib.blake2b(f"{canary_id}:{caller}".encode(), digest_size=8).digest()
        draw = int.from_bytes(digest) / 2**64
    else:
        draw = random.random()
    return (row[6], row[7], row[8]) if draw * 100 < percent else None


def served_version_find(
    *, name: str, version: int | None = None, alias: str | None = None, caller: Any = None
) -> ModelVersion:
    """The version a call means (number, else alias, else champion, else newest) in one query.

    A call that names neither a version nor an alias is the canary's, when the model has
    one, for its ``percent`` of calls (per call, or per ``caller`` when sticky). The version
    row itself comes from this process's cache, by id, creation time and revision. Raises
    ``DoesNotExist`` with the reason, as
    :func:`registry.catalog.selectors.model_version_resolve` does, when nothing matches.
    """
    if not version_number_storable(version):
        return model_version_resolve(name=name, version=version, alias=alias)  # raises
    if version is not None:
        sql, params = _version_sql("number"), [name, version]
    elif alias:
        sql, params = _version_sql("alias"), [name, alias]
    else:
        sql, params = _version_sql("default"), [CHAMPION, name]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return model_version_resolve(name=name, version=version, alias=alias)  # raises
    chosen = _canary_choice(row, caller) if len(row) > 3 else None
    key = (
        (row[0], str(row[1]), row[2]) if chosen is None else (chosen[0], str(chosen[1]), chosen[2])
    )
    with _versions_lock:
        found = _versions.get(key)
    if found is not None:
        return found
    loaded = ModelVersion.objects.select_related("model").defer(*NOT_FOR_PREDICTING).get(pk=key[0])
    with _versions_lock:
        _versions[key] = loaded
        while len(_versions) > MAX_CACHED_VERSIONS:
            _versions.popitem(last=False)
    return loaded
