"""Register a model file (skops) or an MLflow model directory as the next version of a model."""

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.management.base import BaseCommand, CommandError

from registry.catalog.services import model_version_register
from registry.mlflow.importer import directory_reader, mlflow_model_read, mlflow_model_register


def _reason(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(f"{field}: {' '.join(m)}" for field, m in exc.message_dict.items())
    return " ".join(exc.messages)


def registrar(username: str | None):
    """The user named by --user (None without one); a CommandError for an unknown name."""
    if not username:
        return None
    try:
        return get_user_model().objects.get(username=username)
    except ObjectDoesNotExist:
        raise CommandError(f"No user named {username}.") from None


class Command(BaseCommand):
    help = "Register a .skops model file or an MLflow model directory as a model's next version."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="Model name (slug).")
        given = parser.add_mutually_exclusive_group(required=True)
        given.add_argument("--artifact", type=Path, help="The .skops file.")
        given.add_argument(
            "--mlflow-model",
            type=Path,
            help="An MLflow model directory (sklearn flavor saved as skops): its signature "
            "gives the interface, its input example the defaults, its run the lineage.",
        )
        parser.add_argument("--reference-data", type=Path, help="CSV of inputs (and target).")
        parser.add_argument("--target", help="Column of the reference data with the outcome.")
        parser.add_argument("--interface", type=Path, help="JSON file of the interface.")
        parser.add_argument("--alias", help="Point this alias (e.g. champion) at the version.")
        parser.add_argument(
            "--keep",
            action="append",
            default=[],
            help="A reference column the model does not take, kept to be marked sensitive "
            "(repeatable).",
        )
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

        user = registrar(opts["user"])
        interface = None
        if opts["interface"]:
            try:
                interface = json.loads(read(opts["interface"]))
            except json.JSONDecodeError as exc:
                raise CommandError(f"The interface is not valid JSON: {exc}.") from None
        given = opts["mlflow_model"] or opts["artifact"]
        common = {
            "name": opts["name"],
            "reference": read(opts["reference_data"]) if opts["reference_data"] else None,
            "target": opts["target"],
            "interface": interface,
            "alias": opts["alias"],
            "title": opts["title"],
            "description": opts["description"],
            "tags": opts["tags"],
            "notes": opts["notes"],
            "source": opts["source"] or str(given),
            "allow_breaking": opts["allow_breaking"],
            "user": user,
        }
        try:
            if opts["mlflow_model"]:
                model = mlflow_model_read(read=directory_reader(given), uri=str(given))
                version = mlflow_model_register(model=model, **common)
            else:
                version = model_version_register(artifact=read(given), keep=opts["keep"], **common)
        except ValidationError as exc:
            raise CommandError(_reason(exc)) from None
        metrics = ", ".join(f"{k}={v:.3f}" for k, v in version.metrics.items())
        self.stdout.write(
            f"Registered {version.model.name} version {version.number} "
            f"(sha256 {version.artifact_sha256[:12]}){'; ' + metrics if metrics else ''}"
        )
