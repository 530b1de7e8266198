"""Train and register the demo models. Idempotent: what is already registered is left alone.

A model registered by an older checkout gets the versions it lacks; a registry that already
holds every demo version is recognised without importing scikit-learn, so ``make run`` on an
existing checkout starts in seconds.

With ``--traffic`` each newly registered champion also gets 30 days of API answers (the
diabetes model's drifting in its last week), so the monitoring page has something to show.
"""

import time

from django.core.management.base import BaseCommand
from django.db.models import Count
from django.utils import timezone

from registry.models import RegisteredModel

# How many versions each demo model has (registry/demo.py trains them; a test keeps the two
# in step). Checked first so that a complete registry costs one query, not a training run.
DEMO_VERSIONS = {"breast-cancer": 2, "wine": 2, "diabetes": 2}


class Command(BaseCommand):
    help = "Register demo models trained on data that ships with scikit-learn."

    def add_arguments(self, parser):
        parser.add_argument(
            "--traffic",
            action="store_true",
            help="Also store 30 days of plausible API answers for each new demo champion.",
        )

    def handle(self, *args, **opts):
        have = dict(
            RegisteredModel.objects.filter(name__in=DEMO_VERSIONS)
            .annotate(n=Count("versions"))
            .values_list("name", "n")
        )
        if all(have.get(name, 0) >= n for name, n in DEMO_VERSIONS.items()):
            self.stdout.write(f"Demo models: {', '.join(DEMO_VERSIONS)} (already registered).")
            return
        self.stdout.write("Training the demo models (once; about 20 seconds)…")
        from registry.demo import DEMOS  # scikit-learn: imported only when there is training

        now = timezone.now()
        for index, build in enumerate(DEMOS):
            demo = build()
            champion = self._seed(demo, have=have)
            if champion is not None and opts["traffic"]:
                self._traffic(demo, champion, now=now, seed=index)

    def _traffic(self, demo, version, *, now, seed: int) -> None:
        from registry.demo import traffic_seed

        started = time.perf_counter()
        calls = traffic_seed(demo=demo, version=version, now=now, seed=seed)
        self.stdout.write(
            f"{demo.name}: {calls} API answers over 30 days stored "
            f"in {time.perf_counter() - started:.2f} s"
        )

    def _seed(self, demo, *, have: dict[str, int]):
        """Register what ``demo`` lacks; the new champion, if this registered one."""
        from registry.catalog.services import alias_set, model_version_register, reference_read
        from registry.interface import interface_infer

        existing = have.get(demo.name, 0)
        if existing >= len(demo.versions):
            self.stdout.write(f"{demo.name}: already registered")
            return None
        reference = demo.reference_csv()
        versions = []
        for item in demo.versions[existing:]:
            # Infer the interface, then add what data cannot tell: units, labels, limits.
            interface = interface_infer(
                estimator=item.estimator,
                reference=reference_read(data=reference),
                target=demo.target,
            ).to_dict()
            for spec in interface["inputs"]:
                if spec["name"] in demo.units:
                    spec["unit"] = demo.units[spec["name"]]
                if spec["name"] in demo.labels:
                    spec["label"] = demo.labels[spec["name"]]
                if spec["name"] in demo.limits:
                    spec["min"], spec["max"] = demo.limits[spec["name"]]
            versions.append(
                model_version_register(
                    name=demo.name,
                    title=demo.title,
                    description=demo.description,
                    artifact=demo.artifact(item),
                    reference=reference,
                    target=demo.target,
                    interface=interface,
                    tags=demo.tags,
                    notes=item.notes,
                    source="registry.demo (scikit-learn bundled data, 70/30 split)",
                )
            )
        model = versions[0].model
        key = "roc_auc" if "roc_auc" in versions[0].metrics else "r2"
        if existing:
            # An older checkout's model: its champion stays; the new version is the challenger.
            if not model.aliases.filter(name="challenger").exists():
                alias_set(model=model, name="challenger", version=versions[-1])
            self.stdout.write(f"{demo.name}: added {len(versions)} version(s)")
            return None
        ranked = sorted(versions, key=lambda v: v.metrics.get(key, 0), reverse=True)
        alias_set(model=model, name="champion", version=ranked[0])
        if len(ranked) > 1:
            alias_set(model=model, name="challenger", version=ranked[1])
        self.stdout.write(
            f"{demo.name}: registered {len(versions)} version(s); champion is "
            f"v{ranked[0].number} ({key}={ranked[0].metrics.get(key, 0):.3f})"
        )
        return ranked[0]
