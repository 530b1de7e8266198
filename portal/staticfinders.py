"""Serve plotly.js from the plotly package's own bundled copy, so the two never disagree."""

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PLOTLY_JS = "vendor/plotly.min.js"
_PACKAGE_FILE = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


class PlotlyFinder(BaseFinder):
    """Finds ``vendor/plotly.min.js`` in the installed plotly package; nothing else."""

    storage = FileSystemStorage(location=_PACKAGE_FILE.parent)

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        if path == PLOTLY_JS:
            return [str(_PACKAGE_FILE)] if find_all else str(_PACKAGE_FILE)
        return []

    def list(self, ignore_patterns):
        yield "plotly.min.js", _PrefixedStorage()


class _PrefixedStorage(FileSystemStorage):
    """Collects the file as vendor/plotly.min.js."""

    prefix = "vendor"

    def __init__(self):
        super().__init__(location=_PACKAGE_FILE.parent)
