"""Evaluate every alert rule once, as the task worker does every PORTAL_ALERT_INTERVAL
seconds (from cron, with a worker of another kind, or to see what fires now)."""

from django.core.management.base import BaseCommand

from registry.alerts.services import alerts_evaluate_all


class Command(BaseCommand):
    help = (
        "Evaluate every alert rule once; an alert fires once when it starts, once when it clears."
    )

    def handle(self, *args, **opts):
        counts = alerts_evaluate_all()
        self.stdout.write(
            f"{counts['checked']} rules checked: {counts['fired']} fired, "
            f"{counts['resolved']} resolved, {counts['failed']} could not be evaluated"
        )
