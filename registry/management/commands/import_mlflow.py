"""Import the registered models of an MLflow tracking server, version by version."""

from django.core.management.base import BaseCommand, CommandError

from registry.management.commands.register_model import registrar
from registry.mlflow.importer import REQUEST_SECONDS, TrackingError, mlflow_import


class Command(BaseCommand):
    help = (
        "Import every version of the registered models of an MLflow tracking server (or those "
        "named) with their aliases, tags, descriptions and run metrics; run again, it adds "
        "only what is new."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--tracking-uri", required=True, help="The server, e.g. http://127.0.0.1:5000."
        )
        parser.add_argument(
            "--model",
            action="append",
            default=[],
            dest="models",
            metavar="NAME",
            help="An MLflow registered model to import (repeat for more); all when omitted.",
        )
        parser.add_argument(
            "--as",
            dest="as_name",
            metavar="NAME",
            help="With one --model: the portal model to import it as (a new name, or one this "
            "MLflow model was imported as before). Without it the name is the MLflow name "
            "slugified; a portal model of that name that did not come from this MLflow model "
            "is never imported into.",
        )
        parser.add_argument(
            "--allow-breaking",
            action="store_true",
            help="Accept a version whose interface breaks the previous one's (otherwise it "
            "and later versions wait, named on stderr).",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=REQUEST_SECONDS,
            metavar="SECONDS",
            help="The most one request to the server may take in all (default "
            f"{REQUEST_SECONDS:.0f}); raise it for large model files over a slow link.",
        )
        parser.add_argument("--user", help="User name recorded as the registrar.")

    def handle(self, *args, **opts):
        user = registrar(opts["user"])
        if opts["timeout"] <= 0:
            raise CommandError("--timeout must be a positive number of seconds.")
        try:
            report = mlflow_import(
                tracking_uri=opts["tracking_uri"],
                names=opts["models"],
                user=user,
                as_name=opts["as_name"],
                allow_breaking=opts["allow_breaking"],
                deadline=opts["timeout"],
            )
        except (TrackingError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        for line in report.imported:
            self.stdout.write(f"Imported {line}")
        for line in report.changes:
            self.stdout.write(f"Changed {line}")
        for line in report.skipped:
            self.stderr.write(f"Skipped {line}")
        if report.nothing:
            self.stdout.write("Nothing new to import.")
        else:
            self.stdout.write(
                f"{len(report.imported)} version(s) imported, {len(report.changes)} change(s), "
                f"{len(report.skipped)} skipped."
            )
