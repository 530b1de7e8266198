"""Signed share links to one prediction's embed: they expire and can be revoked.

A link carries a timestamped signature of the prediction's id and its ``share_key``. It stops
working after ``PORTAL["EMBED_LINK_MAX_AGE"]`` seconds, or as soon as the prediction's share
link is reset (a new key), or when the prediction is gone; each of these is a 404.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.http import Http404

from registry.models import Prediction
from registry.predict.selectors import prediction_by_id

_signer = signing.TimestampSigner(salt="portal.embed.v2")


def _value(prediction: Prediction) -> str:
    return f"{prediction.id}.{prediction.share_key}"


def share_token(prediction: Prediction) -> str:
    """The ``s`` parameter of a prediction's embed link (timestamp and signature)."""
    return _signer.sign(_value(prediction))[len(_value(prediction)) + 1 :]


def shared_prediction(*, id: object, token: str) -> Prediction:
    """The prediction a share link opens, or 404 saying why it does not."""
    try:
        prediction = prediction_by_id(id=id)
    except Prediction.DoesNotExist:
        raise Http404("This share link is not valid.") from None
    try:
        _signer.unsign(
            f"{_value(prediction)}:{token}", max_age=settings.PORTAL["EMBED_LINK_MAX_AGE"]
        )
    except signing.SignatureExpired:
        raise Http404("This share link has expired; ask for a new one.") from None
    except signing.BadSignature:
        raise Http404("This share link is not valid.") from None
    return prediction
