"""Request parsers with the API's limits.

JSON is parsed leniently about ``NaN`` and ``Infinity`` on purpose: Python's ``json`` reads
them, and refusing them at parse time would only say "parse error". Let through, the
interface refuses them naming the row and field. Integers beyond 64 bits are refused here:
no model input needs them, and NumPy cannot hold them.

The body limit is Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``, which ``request.body`` enforces
(``RequestDataTooBig``, answered 413). Multipart uploads are checked against the artifact
limit before a byte of the file is read.
"""

from __future__ import annotations

import json

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from portal.web.errors import RequestTooLarge

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def bounded_int(text: str) -> int:
    """An integer read from JSON, refused when it does not fit in 64 bits."""
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"integer {text[:20]}… does not fit in 64 bits")
    return value


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            return json.loads(stream.read().decode(encoding), parse_int=bounded_int)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"Malformed JSON: {exc}") from None


def upload_limit() -> int:
    """Bytes one multipart request may carry: a model file and its reference data."""
    return 2 * settings.PORTAL["MAX_ARTIFACT_BYTES"] + (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)


class MultiPartParser(parsers.MultiPartParser):
    """Multipart, refused before a byte is read when the declared body is over ``limit()``."""

    def limit(self) -> int:
        return upload_limit()

    def too_large(self) -> str:
        return f"The upload is larger than {upload_limit()} bytes."

    def parse(self, stream, media_type=None, parser_context=None):
        request = parser_context["request"]
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > self.limit():
            raise RequestTooLarge(self.too_large())
        return super().parse(stream, media_type, parser_context)
