"""Everything ``make run`` does before it starts the server, in one process: migrate, seed the
demo models, make the demo login (printed last, as ``demo_user`` prints it).

One process instead of three saves two Django start-ups, and no system checks run (they
import every view, and with them scikit-learn): the server that starts next runs them.
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Migrate, register the demo models and print the demo login (for make run)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="A new demo password.")

    def handle(self, *args, **opts):
        self.stdout.write("  · Updating the database")
        call_command("migrate", interactive=False, verbosity=0, skip_checks=True)
        self.stdout.write("  · Demo models")
        # With 30 days of API traffic, so the monitoring page has a drift to show.
        call_command("seed_demo", traffic=True, stdout=_Indented(self.stdout), skip_checks=True)
        call_command("demo_user", reset=opts["reset"], stdout=self.stdout, skip_checks=True)


class _Indented:
    """Another command's output, indented under this one's step."""

    def __init__(self, out):
        self.out = out

    def write(self, text: str, *args, **kwargs):
        self.out.write("    " + text, *args, **kwargs)

    def flush(self):
        self.out.flush()
