"""Static files as the portal serves them: hashed, pre-compressed, and nothing else.

Source maps are never served to users (only a browser's developer tools ask for them), so
they are not collected, and the references to them are left as they are rather than hashed
(hashing them would need the maps).
"""

from django.contrib.staticfiles.apps import StaticFilesConfig
from whitenoise.storage import CompressedManifestStaticFilesStorage


class PortalStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Whitenoise's storage without the ``sourceMappingURL`` rewriting."""

    patterns = tuple(
        (glob, tuple(p for p in rules if "sourceMappingURL" not in str(p)))
        for glob, rules in CompressedManifestStaticFilesStorage.patterns
    )


class PortalStaticFilesConfig(StaticFilesConfig):
    """collectstatic leaves out what the portal never serves: source maps, the Redoc bundle
    (the API docs are Swagger UI) and DRF's browsable-API assets (the API renders JSON only).
    Skipping them saves compressing about 10 MB on every collect."""

    ignore_patterns = [
        *StaticFilesConfig.ignore_patterns,
        "*.map",
        "drf_spectacular_sidecar/redoc/*",
        "rest_framework/*",
    ]
