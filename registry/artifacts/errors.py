"""The one error of a model file: refused by the artifact checks or by a model kind's own."""

from django.core.exceptions import ValidationError


class ArtifactError(ValidationError):
    """A model file that cannot be trusted or used; the message says why."""

    def __init__(self, message: str):
        super().__init__({"artifact": [message]})
        self.reason = message
