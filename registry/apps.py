from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _cache_table(sender, using: str = "default", **kwargs) -> None:
    """Create the database cache's table with the schema, so `migrate` is the only step.

    Throttles and login lockouts count in the cache; without Redis it is a database table.
    """
    from django.conf import settings
    from django.core.management import call_command

    if any(c["BACKEND"].endswith("DatabaseCache") for c in settings.CACHES.values()):
        call_command("createcachetable", database=using, verbosity=0)


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Model registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_cache_table, sender=self, dispatch_uid="registry.cache_table")
        # Releases hear of stored answers through predict's hook, so the answering path
        # imports nothing above it (imported here: models are loaded only now).
        from registry.predict.hooks import answer_hook_add
        from registry.releases.watch import release_answer_hook

        answer_hook_add(release_answer_hook)
