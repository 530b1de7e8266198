"""The portal's own tables: only what the faces need that is not the domain's."""

from django.db import models


class RateCount(models.Model):
    """Calls one caller made in the current fixed window of one throttle.

    One row per throttle and caller, updated in place by one ``INSERT … ON CONFLICT`` per call
    (see ``portal.web.throttles``): atomic across processes, and a single statement where the
    database cache took five.
    """

    key = models.CharField(max_length=200, primary_key=True)
    window = models.BigIntegerField()
    count = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.key}: {self.count} in window {self.window}"
