"""Register a model file (skops) as the next version of a model, from the shell."""

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.management.base import BaseCommand, CommandError

from registry.services import model_version_register


def _reason(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(f"{field}: {' '.join(m)}" for field, m in exc.message_dict.items())
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = "Register a .skops model file as the next version of a model."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="Model name (slug).")
        parser.add_argument("--artifact", required=True, type=Path, help="The .skops file.")
        parser.add_argument("--reference-data", type=Path, help="CSV of inputs (and target).")
        parser.add_argument("--target", help="Column of the reference data with the outcome.")
        parser.add_argument("--interface", type=Path, help="JSON file of the interface.")
        parser.add_argument("--alias", help="Point this alias (e.g. champion) at the version.")
        parser.add_argument("--title", default="")
        parser.add_argument("--description", default="")
        parser.add_argument("--tag", action="append", default=[], dest="tags")
        parser.add_argument("--notes", default="", help="Lineage notes for this version.")
        parser.add_argument("--source", default="", help="Where the model came from.")
        parser.add_argument("--user", help="User name recorded as the registrar.")
        parser.add_argument(
            "--allow-breaking",
            action="store_true",
            help="Accept an interface change that breaks old inputs.",
        )

    def handle(self, *args, **opts):
        def read(path: Path) -> bytes:
            try:
                return path.read_bytes()
            except OSError as exc:
                raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None

        user = None
        if opts["user"]:
            try:
                user = get_user_model().objects.get(username=opts["user"])
            except ObjectDoesNotExist:
                raise CommandError(f"No user named {opts['user']}.") from None
        interface = None
        if opts["interface"]:
            try:
                interface = json.loads(read(opts["interface"]))
            except json.JSONDecodeError as exc:
                raise CommandError(f"The interface is not valid JSON: {exc}.") from None
        try:
            version = model_version_register(
                name=opts["name"],
                artifact=read(opts["artifact"]),
                reference=read(opts["reference_data"]) if opts["reference_data"] else None,
                target=opts["target"],
                interface=interface,
                alias=opts["alias"],
                title=opts["title"],
                description=opts["description"],
                tags=opts["tags"],
                notes=opts["notes"],
                source=opts["source"] or str(opts["artifact"]),
                allow_breaking=opts["allow_breaking"],
                user=user,
            )
        except ValidationError as exc:
            raise CommandError(_reason(exc)) from None
        metrics = ", ".join(f"{k}={v:.3f}" for k, v in version.metrics.items())
        self.stdout.write(
            f"Registered {version.model.name} version {version.number} "
            f"(sha256 {version.artifact_sha256[:12]}){'; ' + metrics if metrics else ''}"
        )
