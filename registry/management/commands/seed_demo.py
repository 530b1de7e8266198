"""Train and register the demo models. Idempotent: a model already registered is left alone."""

from django.core.management.base import BaseCommand

from registry.demo import DEMOS
from registry.interface import interface_infer
from registry.models import RegisteredModel
from registry.services import alias_set, model_version_register, reference_read


class Command(BaseCommand):
    help = "Register demo models trained on data that ships with scikit-learn."

    def handle(self, *args, **opts):
        for build in DEMOS:
            demo = build()
            if RegisteredModel.objects.filter(name=demo.name).exists():
                self.stdout.write(f"{demo.name}: already registered")
                continue
            reference = demo.reference_csv()
            versions = []
            for item in demo.versions:
                # Infer the interface, then add what data cannot tell: units and labels.
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
            key = "roc_auc" if "roc_auc" in versions[0].metrics else "r2"
            ranked = sorted(versions, key=lambda v: v.metrics.get(key, 0), reverse=True)
            alias_set(model=ranked[0].model, name="champion", version=ranked[0])
            if len(ranked) > 1:
                alias_set(model=ranked[1].model, name="challenger", version=ranked[1])
            self.stdout.write(
                f"{demo.name}: registered {len(versions)} version(s); champion is "
                f"v{ranked[0].number} ({key}={ranked[0].metrics.get(key, 0):.3f})"
            )
