"""Admin for the registry: readable, searchable, and read-only where records are immutable.

Managers (the role, not Django permissions) may use it: they read every registry record and
edit what is editable by hand (a model's title, description, owner and tags; tags). Versions,
aliases, predictions and history are written by the portal's services only, so the admin
shows them and never changes them. A manager also needs ``is_staff`` to enter the admin
(``manage.py demo_user`` sets it); the portal shows the link only to staff managers.
"""

import json

from django.contrib import admin
from django.utils.html import format_html

from registry import roles
from registry.models import (
    Alias,
    AuditEvent,
    DeliveryAttempt,
    ModelVersion,
    Prediction,
    Promotion,
    RegisteredModel,
    Tag,
    Usage,
    Webhook,
)

# Branded for the managers who read it, not "Django administration".
admin.site.site_header = "Model Portal administration"
admin.site.site_title = "Model Portal admin"
admin.site.index_title = "Registry records"


def _person(user) -> str:
    """A user as a manager knows them: the full name when there is one, with the login."""
    if user is None:
        return "—"
    full = user.get_full_name()
    return f"{full} ({user.username})" if full else user.username


def _pretty(value) -> str:
    return format_html("<pre style='white-space:pre-wrap'>{}</pre>", json.dumps(value, indent=2))


def _is_manager(request) -> bool:
    return roles.has_role(request.user, roles.MANAGER)


class ManagerAdmin(admin.ModelAdmin):
    """Managers see the registry's records whatever Django permissions they hold."""

    def has_module_permission(self, request):
        return _is_manager(request) or super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return _is_manager(request) or super().has_view_permission(request, obj)


class EditableByManagers(ManagerAdmin):
    """Records people describe by hand: managers may change them."""

    def has_change_permission(self, request, obj=None):
        return _is_manager(request) or super().has_change_permission(request, obj)


class ReadOnlyAdmin(ManagerAdmin):
    """Records written by services only: viewable here, never edited or added by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ManagerInline(admin.TabularInline):
    """A read-only table inside a model's page, shown to managers."""

    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None):
        return _is_manager(request) or super().has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return False


class VersionInline(ManagerInline):
    model = ModelVersion
    fields = ("number", "estimator_class", "created_by", "created_at")
    readonly_fields = fields
    show_change_link = True


class AliasInline(ManagerInline):
    model = Alias
    fields = ("name", "version", "updated_by", "updated_at")
    readonly_fields = fields


@admin.register(RegisteredModel)
class RegisteredModelAdmin(EditableByManagers):
    list_display = ("name", "title", "task", "owner", "created_at", "archived_at")
    list_filter = ("task", "tags", "archived_at")
    search_fields = ("name", "title", "description")
    # Archiving is an audited act of the registry, not a field to type a date into.
    readonly_fields = ("name", "task", "created_at", "archived_at")
    filter_horizontal = ("tags",)
    inlines = [AliasInline, VersionInline]

    def has_add_permission(self, request):
        return False  # a model comes into being by registering its first version

    def has_delete_permission(self, request, obj=None):
        return False  # versions, predictions and history refer to it


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = (
        "__str__",
        "estimator_class",
        "framework_version",
        "created_by",
        "created_at",
    )
    list_filter = ("model", "framework_version")
    search_fields = ("model__name", "artifact_sha256", "notes")
    list_select_related = ("model", "created_by")
    exclude = (
        "interface",
        "metrics",
        "params",
        "evaluation",
        "reference_sample",
        "breaking_changes",
    )
    readonly_fields = (
        "interface_pretty",
        "metrics_pretty",
        "params_pretty",
        "breaking_changes_pretty",
    )

    @admin.display(description="interface")
    def interface_pretty(self, obj):
        return _pretty(obj.interface)

    @admin.display(description="metrics")
    def metrics_pretty(self, obj):
        return _pretty(obj.metrics)

    @admin.display(description="parameters")
    def params_pretty(self, obj):
        return _pretty(obj.params)

    @admin.display(description="breaking changes")
    def breaking_changes_pretty(self, obj):
        return _pretty(obj.breaking_changes)


@admin.register(Alias)
class AliasAdmin(ReadOnlyAdmin):
    list_display = ("model", "name", "version", "updated_by", "updated_at")
    list_filter = ("name", "model")
    list_select_related = ("model", "version__model", "updated_by")


@admin.register(Prediction)
class PredictionAdmin(ReadOnlyAdmin):
    # The first column links to the record: "clinic v3 2026-12-04 10:00", not its UUID.
    list_display = (
        "__str__",
        "name",
        "person",
        "source",
        "row_count",
        "latency_ms",
    )
    list_filter = ("source", "version__model", "created_at")
    search_fields = ("id", "name", "user__username")
    list_select_related = ("version__model", "user")
    date_hierarchy = "created_at"

    @admin.display(description="user", ordering="user__username")
    def person(self, obj):
        return _person(obj.user)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "person", "created_at")
    list_filter = ("action", "model")
    list_select_related = ("actor", "model", "version__model")
    date_hierarchy = "created_at"

    @admin.display(description="by", ordering="actor__username")
    def person(self, obj):
        return _person(obj.actor)


@admin.register(Usage)
class UsageAdmin(ReadOnlyAdmin):
    list_display = ("day", "version", "kind", "count")
    list_filter = ("kind", "day")
    list_select_related = ("version__model",)


@admin.register(Tag)
class TagAdmin(EditableByManagers):
    search_fields = ("name",)

    def has_add_permission(self, request):
        return _is_manager(request) or super().has_add_permission(request)


# ------------------------------------------------------------------ releases and webhooks
@admin.register(Promotion)
class PromotionAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "asked_by", "decided", "requested_at")
    list_filter = ("state", "model")
    list_select_related = ("model", "version", "requested_by", "decided_by")

    @admin.display(description="asked by", ordering="requested_by__username")
    def asked_by(self, obj):
        return _person(obj.requested_by)

    @admin.display(description="decided by", ordering="decided_by__username")
    def decided(self, obj):
        return _person(obj.decided_by)


@admin.register(Webhook)
class WebhookAdmin(ReadOnlyAdmin):
    # The secret signs deliveries: never shown after the webhook is made.
    fields = ("url", "events", "for_models", "created_by", "created_at", "removed_at")
    list_display = ("url", "created_at", "removed_at")


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "at", "status_code", "error", "duration_ms")
    list_filter = ("status_code",)
    list_select_related = ("delivery",)
