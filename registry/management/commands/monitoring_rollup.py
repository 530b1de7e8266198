"""Sum every version's settled days for the monitoring page now (the task worker does it on
its own when a page finds days missing); for a backfill after an upgrade, or from cron."""

from django.core.management.base import BaseCommand

from registry.monitoring.rollup import traffic_days_fill_all


class Command(BaseCommand):
    help = "Sum each version's finished days of stored answers for the monitoring page."

    def handle(self, *args, **opts):
        summed = traffic_days_fill_all()
        for version, days in summed.items():
            if days:
                self.stdout.write(f"{version}: {days} days")
        self.stdout.write(f"{sum(summed.values())} days summed")
