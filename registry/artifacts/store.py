"""Model files: stored by content (sha256), loaded only through skops and an allow-list.

An uploaded file is never unpickled. skops reads a zip of JSON that names every type it would
construct; we refuse the file unless each type it does not already trust by default is on our
allow-list: scikit-learn classes (never functions) and a fixed set of NumPy and SciPy types.
Loaded estimators are cached per process, keyed by the artifact's sha256, so answering a request
never touches the file again.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import threading
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import sklearn.utils
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from registry.artifacts.archives import ZipLimits, ZipRefused, zip_directory_check, zip_open
from registry.artifacts.checks import structures_check
from registry.artifacts.errors import ArtifactError
from registry.kinds import native_from_bytes


def _import_skops_io():
    """skops.io, without its list of every scikit-learn estimator.

    On import, skops makes that list its default trust (``sklearn.utils.all_estimators()``,
    which imports every module of scikit-learn: about 0.4 s of a server's start, most of it
    for models nobody registered). The portal does not need it: every type a file names that
    skops does not trust is put to our allow-list (``is_trusted_type``), which takes any
    scikit-learn class outside ``_UNTRUSTED_SKLEARN`` and imports only the modules a file
    names. So the same files load and the same are refused; tests/registry/test_artifacts.py
    checks that every estimator skops would have trusted is on our allow-list.
    """
    listed = sklearn.utils.all_estimators
    sklearn.utils.all_estimators = lambda type_filter=None: []
    try:
        import skops.io
    finally:
        sklearn.utils.all_estimators = listed
    return skops.io


sio = _import_skops_io()

# Types outside scikit-learn that tree models, random states and sparse outputs need.
TRUSTED_TYPES = frozenset(
    {
        "numpy.dtype",
        "numpy.ndarray",
        "numpy.bool_",
        "numpy.float16",
        "numpy.float32",
        "numpy.float64",
        "numpy.int8",
        "numpy.int16",
        "numpy.int32",
        "numpy.int64",
        "numpy.uint8",
        "numpy.uint16",
        "numpy.uint32",
        "numpy.uint64",
        "numpy.str_",
        "numpy.random.mtrand.RandomState",
        "numpy.random._mt19937.MT19937",
        "numpy.random._generator.Generator",
        "numpy.random._pcg64.PCG64",
        "scipy.sparse._csr.csr_matrix",
        "scipy.sparse._csc.csc_matrix",
        "scipy.sparse._csr.csr_array",
        "scipy.sparse._csc.csc_array",
    }
)
# scikit-learn packages whose classes are never needed by a fitted model.
# The fitting machinery (criteria, splitters) and t-SNE's quad tree are compiled objects no
# fitted predictor holds; rebuilding them from a file only widens what a file can reach.
_UNTRUSTED_SKLEARN = (
    "sklearn.utils._testing",
    "sklearn.externals",
    "sklearn.datasets",
    "sklearn.tree._criterion",
    "sklearn.tree._splitter",
    "sklearn.neighbors._quad_tree",
)
# A skops file is a zip: limits on what it unpacks to, checked on the declared sizes before
# anything is read (zipfile stops a member at its declared size, so a lie fails its CRC).
MAX_ZIP_ENTRIES = 50_000
MAX_SCHEMA_BYTES = 32 * 1024 * 1024  # parsed JSON costs ~10x its size in memory
MAX_COMPRESSION_RATIO = 200  # real arrays deflate 1-50x; bombs deflate 1000x


@dataclass(frozen=True)
class StoredArtifact:
    path: str
    sha256: str
    size: int


def _is_sklearn_class(name: str) -> bool:
    if not name.startswith("sklearn.") or name.startswith(_UNTRUSTED_SKLEARN):
        return False
    module_name, _, attribute = name.rpartition(".")
    try:
        # Only scikit-learn's own modules are ever imported here, by the name in the file.
        obj = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError):
        return False
    return isinstance(obj, type)


def is_trusted_type(name: str) -> bool:
    """Whether a type named in a skops file may be constructed."""
    return name in TRUSTED_TYPES or _is_sklearn_class(name)


def estimator_from_bytes(data: bytes) -> Any:
    """Load an estimator from skops bytes, refusing anything not on the allow-list.

    A file of another kind (XGBoost, LightGBM, ONNX: registry/kinds/) is checked and loaded
    by that kind's module; a file of no known kind is refused.

    Raises :class:`ArtifactError` for a file that is not skops (a pickle, say), names an
    untrusted type, or holds something other than a fitted estimator. Nothing in a refused file
    is executed: the type names are checked before skops constructs a single object.
    """
    if not data:
        raise ArtifactError("The model file is empty.")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        # XGBoost, LightGBM and ONNX files: checked, then loaded by their own library
        # (imported only then); any other file is refused there.
        return native_from_bytes(data)
    archive_check(data)
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:  # skops raises several kinds for a damaged archive
        raise ArtifactError(f"This skops file cannot be read: {exc}") from None
    refused = sorted(name for name in untrusted if not is_trusted_type(name))
    if refused:
        raise ArtifactError(
            "Refused: the file names types that are not on the allow-list of trusted types: "
            + ", ".join(refused)
            + "."
        )
    try:
        obj = sio.loads(data, trusted=[name for name in untrusted if is_trusted_type(name)])
    except Exception as exc:
        raise ArtifactError(f"This skops file cannot be loaded: {exc}") from None
    if not (callable(getattr(obj, "predict", None)) and hasattr(obj, "get_params")):
        raise ArtifactError(
            f"The file holds a {type(obj).__name__}, not a fitted estimator with predict()."
        )
    try:
        structures_check(obj)
    except Exception as exc:  # a malformed structure can fail a check in many ways
        raise ArtifactError(
            f"Refused: the model's internal structure is inconsistent: {exc}."
        ) from None
    settings_check(obj)
    return obj


def archive_check(data: bytes) -> None:
    """Refuse a zip that would unpack to far more than it weighs (a zip bomb), by its directory.

    Counts members and adds up their declared sizes, and compares each member's size with
    its compressed size (registry/archives.py, as for a zipped MLflow model); nothing is
    decompressed.
    """
    limits = ZipLimits(
        max_entries=MAX_ZIP_ENTRIES,
        max_bytes=settings.PORTAL["MAX_ARTIFACT_UNPACKED_BYTES"],
        max_ratio=MAX_COMPRESSION_RATIO,
        member_bytes={"schema.json": MAX_SCHEMA_BYTES},
        setting="PORTAL_MAX_ARTIFACT_UNPACKED_BYTES",
    )
    try:
        zip_directory_check(zip_open(data), limits)
    except ZipRefused as exc:
        raise ArtifactError(f"Refused: {exc}") from None


def _estimators_in(obj: Any) -> list[Any]:
    """Every scikit-learn estimator reachable from ``obj`` (nested pipelines, ensembles)."""
    from sklearn.base import BaseEstimator

    found, seen, stack = [], set(), [obj]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, BaseEstimator):
            found.append(item)
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, np.ndarray) and item.dtype == object:
            stack.extend(item.ravel())
        elif isinstance(item, BaseEstimator):
            stack.extend(vars(item).values())
    return found


def settings_check(obj: Any) -> None:
    """Refuse estimators set up to reach outside the process; cap their parallelism.

    Text vectorizers with ``input="filename"`` (or ``"file"``) open whatever path a request
    sends, and a ``memory`` cache reads and writes a directory on this server. ``n_jobs`` is
    reset: a file must not decide how many processes or threads one request starts.
    """
    for estimator in _estimators_in(obj):
        name = type(estimator).__name__
        params = vars(estimator)
        if "input" in params and params["input"] != "content" and hasattr(estimator, "analyzer"):
            raise ArtifactError(
                f"Refused: {name}(input={params['input']!r}) reads files named by its input; "
                'only input="content" is accepted.'
            )
        if params.get("memory") is not None:
            raise ArtifactError(
                f"Refused: {name}(memory=...) caches on this server's disk; save the model "
                "with memory=None."
            )
        if "n_jobs" in params:
            estimator.n_jobs = None


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _storage():
    return storages["artifacts"]


def artifact_store(*, data: bytes) -> StoredArtifact:
    """Save a model file under its sha256; the same bytes are stored once."""
    digest = sha256_of(data)
    path = f"sha256/{digest[:2]}/{digest}.skops"
    storage = _storage()
    if not storage.exists(path):
        saved = storage.save(path, ContentFile(data))
        if saved != path:  # another process stored the same bytes at the same moment
            storage.delete(saved)
    return StoredArtifact(path=path, sha256=digest, size=len(data))


def artifact_read(*, path: str, sha256: str) -> bytes:
    """The bytes of a stored model file, checked against the sha256 it was stored under."""
    with _storage().open(path, "rb") as handle:
        data = handle.read()
    if sha256_of(data) != sha256:
        raise ArtifactError(f"The stored file {path} does not match its sha256; it was altered.")
    return data


class EstimatorCache:
    """A bounded, thread-safe LRU of loaded estimators keyed by sha256."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, *, path: str, sha256: str) -> Any:
        with self._lock:
            if sha256 in self._items:
                self._items.move_to_end(sha256)
                return self._items[sha256]
        estimator = estimator_from_bytes(artifact_read(path=path, sha256=sha256))
        with self._lock:
            self._items[sha256] = estimator
            self._items.move_to_end(sha256)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return estimator

    def put(self, sha256: str, estimator: Any) -> None:
        with self._lock:
            self._items[sha256] = estimator
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __contains__(self, sha256: str) -> bool:
        return sha256 in self._items


estimator_cache = EstimatorCache(settings.PORTAL["ESTIMATOR_CACHE_SIZE"])


def estimator_load(*, path: str, sha256: str) -> Any:
    """The loaded estimator of a stored artifact, from this process's cache when it can."""
    return estimator_cache.get(path=path, sha256=sha256)
