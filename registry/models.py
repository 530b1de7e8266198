"""The registry's tables. Behaviour lives in services and selectors; these stay small."""

import uuid

from django.conf import settings
from django.db import models


class Task(models.TextChoices):
    CLASSIFICATION = "classification", "Classification"
    REGRESSION = "regression", "Regression"


class Tag(models.Model):
    name = models.SlugField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RegisteredModel(models.Model):
    name = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    task = models.CharField(max_length=20, choices=Task.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="models")
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # Four eyes: the champion moves only when a second manager approves a promotion request.
    requires_approval = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# The largest version number: PositiveIntegerField's range on every database. A number from
# a URL or a body is checked against it before a query (SQLite raises OverflowError, a 500,
# on an integer past 64 bits).
MAX_VERSION_NUMBER = 2**31 - 1


def version_number_storable(number: int | None) -> bool:
    """Whether a version number (None: none asked for) can be looked up in the database."""
    return number is None or 1 <= number <= MAX_VERSION_NUMBER


class ModelVersion(models.Model):
    """One registered artifact of a model. Immutable once registered."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    artifact = models.CharField(max_length=255, help_text="Path in the artifact storage.")
    artifact_sha256 = models.CharField(max_length=64, db_index=True)
    artifact_size = models.PositiveBigIntegerField()
    framework = models.CharField(max_length=50)
    framework_version = models.CharField(max_length=50)
    estimator_class = models.CharField(max_length=200)
    # Counts changes to a registered version's interface that need no new version (what is
    # actionable): what each process keeps of a version is keyed by (id, created_at, revision).
    revision = models.PositiveIntegerField(default=0, editable=False)
    interface = models.JSONField()
    metrics = models.JSONField(default=dict, blank=True)
    evaluation = models.JSONField(
        default=dict, blank=True, help_text="Curves and tables computed from reference data."
    )
    params = models.JSONField(default=dict, blank=True)
    # Lineage
    reference_fingerprint = models.CharField(max_length=64, blank=True)
    reference_rows = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=500, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    notes = models.TextField(blank=True)
    breaking_changes = models.JSONField(default=list, blank=True)
    reference_sample = models.JSONField(default=list, blank=True)
    origin = models.JSONField(
        default=dict,
        blank=True,
        help_text="Where the version came from in another registry (MLflow): ids, link, run.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["model", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["model", "number"], name="unique_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.model.name} v{self.number}"

    @property
    def task(self) -> str:
        return self.interface["output"]["task"]


class Alias(models.Model):
    """A name (champion, challenger, …) pointing at one version of a model."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="aliases")
    name = models.SlugField(max_length=50)
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="aliases")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model", "name"]
        verbose_name_plural = "aliases"
        constraints = [models.UniqueConstraint(fields=["model", "name"], name="unique_alias")]

    def __str__(self) -> str:
        return f"{self.model.name}@{self.name}"


class Source(models.TextChoices):
    PAGE = "page", "Page"
    API = "api", "API"
    BATCH = "batch", "Batch"
    # A shadow version's answer to a champion answer, scored by the task worker.
    SHADOW = "shadow", "Shadow"


class Prediction(models.Model):
    """A stored answer: inputs, outputs and warnings of one call, a saved scenario or a job."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of their own: the composite indexes below start with each (every stored call
    # pays for every index it updates).
    version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="predictions", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="predictions",
        db_index=False,
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    inputs = models.JSONField()
    outputs = models.JSONField()
    warnings = models.JSONField(default=list, blank=True)
    row_count = models.PositiveIntegerField(default=1)
    latency_ms = models.FloatField()
    name = models.CharField(max_length=200, blank=True, help_text="Set for a saved scenario.")
    feedback = models.JSONField(null=True, blank=True, help_text="The actual outcome.")
    feedback_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Part of what a share link signs: a new key revokes every link given out before.
    share_key = models.CharField(max_length=32, blank=True, default="")
    # A one-row answer's explanation, computed the first time its page or embed shows it and
    # read back after: an embed is open to anyone with the link, as often as they like. Null:
    # not computed yet; {}: none to give (several rows, a labels-only model).
    explanation = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"]),
            # Monitoring's traffic aggregates read this index alone, never the rows' JSON; it
            # also serves every "this version's answers, newest first" (scanned backwards).
            models.Index(
                fields=["version", "created_at", "source", "latency_ms", "row_count"],
                name="prediction_monitor_idx",
            ),
            # Answers with feedback are few: performance finds them without a scan.
            models.Index(
                fields=["version", "created_at"],
                condition=models.Q(feedback__isnull=False),
                name="prediction_feedback_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version} {self.created_at:%Y-%m-%d %H:%M}"


class TrafficDay(models.Model):
    """One finished UTC day of a version's stored answers, summed once by the task worker
    (``registry.monitoring.rollup.monitoring_rollup``) so the monitoring page reads a row per
    day instead of every answer of the day. Answers are never deleted and a settled day gets
    no new ones, so a row never goes stale."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    # {source: [answers, rows]} for each source with answers that day.
    counts = models.JSONField(default=dict)
    # The day's p95 latency per set of timed sources, keyed "api", "page", "api,page".
    p95_ms = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "day"], name="unique_traffic_day")
        ]

    def __str__(self) -> str:
        return f"{self.version} {self.day}"


class Usage(models.Model):
    """Answers per version, day and kind: counts what-if redraws that are not stored."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="usage")
    day = models.DateField()
    kind = models.CharField(max_length=20)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "day", "kind"], name="unique_usage_day")
        ]

    def __str__(self) -> str:
        return f"{self.version} {self.day} {self.kind}: {self.count}"


class Refusal(models.Model):
    """Refused calls per version, UTC day, input and reason (``registry.predict.refusals``):
    a refused call stores nothing, so this is all data quality knows of it."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    source = models.CharField(max_length=10, choices=Source.choices)
    # An interface input, or "(call)" for what concerns the call as a whole.
    input = models.CharField(max_length=100)
    reason = models.CharField(max_length=30)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["version", "day", "source", "input", "reason"], name="unique_refusal_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.version} {self.day} {self.input} {self.reason}: {self.count}"


class AuditEvent(models.Model):
    """Who did what to which model or version, and when."""

    class Action(models.TextChoices):
        MODEL_CREATED = "model.created", "Model created"
        VERSION_REGISTERED = "version.registered", "Version registered"
        ALIAS_SET = "alias.set", "Alias set"
        ALIAS_REMOVED = "alias.removed", "Alias removed"
        MODEL_ARCHIVED = "model.archived", "Model archived"
        ACTIONABILITY_SET = "interface.actionability", "Actionable inputs changed"
        APPROVAL_SET = "model.requires_approval", "Approval requirement changed"
        PROMOTION_REQUESTED = "promotion.requested", "Promotion requested"
        PROMOTION_APPROVED = "promotion.approved", "Promotion approved"
        PROMOTION_REJECTED = "promotion.rejected", "Promotion rejected"
        SHADOW_STARTED = "shadow.started", "Shadow started"
        SHADOW_STOPPED = "shadow.stopped", "Shadow stopped"
        CANARY_STARTED = "canary.started", "Canary started"
        CANARY_ENDED = "canary.ended", "Canary ended"
        FAIRNESS_SET = "interface.fairness", "Sensitive inputs or favourable answer changed"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=30, choices=Action.choices)
    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="events")
    version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.version or self.model}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class BatchJob(models.Model):
    """A CSV scored in the background: split into chunks that workers score in parallel."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="jobs")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
    )
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    input_name = models.CharField(max_length=255, help_text="The uploaded file's own name.")
    input_file = models.CharField(max_length=255, help_text="Path in the default storage.")
    input_bytes = models.PositiveBigIntegerField(default=0)
    output_file = models.CharField(max_length=255, blank=True)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    rows_failed = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="Row errors (first 1,000).")
    summary = models.JSONField(default=dict, blank=True, help_text="What the result graphs show.")
    message = models.TextField(blank=True, help_text="Why a job failed.")
    prediction = models.OneToOneField(
        Prediction, null=True, blank=True, on_delete=models.SET_NULL, related_name="job"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"job {self.id} ({self.status})"

    @property
    def done(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)


class BatchChunk(models.Model):
    """A slice of a job's file (a byte range of whole lines) that one worker scores."""

    job = models.ForeignKey(BatchJob, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    first_row = models.PositiveIntegerField()
    rows = models.PositiveIntegerField()
    byte_start = models.PositiveBigIntegerField()
    byte_end = models.PositiveBigIntegerField()
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    rows_done = models.PositiveIntegerField(default=0)
    rows_failed = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    output_file = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=100, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="unique_chunk_index")]

    def __str__(self) -> str:
        return f"{self.job_id} chunk {self.index}"


# ------------------------------------------------------------------ events and webhooks
class Event(models.Model):
    """Something other systems may want to hear of (``registry.events``): a version
    registered, an alias moved, a promotion decided, a canary ended, an alert fired."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=40, db_index=True)
    model = models.ForeignKey(
        RegisteredModel, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} {self.created_at:%Y-%m-%d %H:%M}"


class Webhook(models.Model):
    """A URL that hears of some events (of some models, or all), signed with its secret."""

    url = models.URLField(max_length=2000)
    events = models.JSONField(help_text="Event names this webhook hears of.")
    for_models = models.ManyToManyField(
        RegisteredModel, blank=True, related_name="+", help_text="None: every model."
    )
    secret = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Removed webhooks are kept while their deliveries are: the log stays readable.
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event sent to one webhook: attempted until delivered or out of attempts."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event.name} to {self.webhook.url} ({self.state})"


class DeliveryAttempt(models.Model):
    """One POST of a delivery: the receiver's status code or the error, and how long it took.
    What the receiver answered beyond its status is never kept."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.FloatField()

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}: {self.status_code or self.error}"


# ------------------------------------------------------------------ releases
class PromotionState(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Promotion(models.Model):
    """A request to point an alias (the champion) at a version, decided by another manager."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="promotions")
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    alias = models.SlugField(max_length=50, default="champion")
    state = models.CharField(
        max_length=10, choices=PromotionState.choices, default=PromotionState.PENDING
    )
    comment = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_comment = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            # One pending request per model, version and alias: a second is refused.
            models.UniqueConstraint(
                fields=["model", "version", "alias"],
                condition=models.Q(state="pending"),
                name="unique_pending_promotion",
            )
        ]

    def __str__(self) -> str:
        return f"{self.model.name}@{self.alias} -> v{self.version.number} ({self.state})"


class Shadow(models.Model):
    """A version that also answers a share of the champion's calls, in the background."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="shadows")
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    share = models.FloatField(default=1.0)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    since = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # The comparison when it ended, kept with it (and in the audit trail).
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-since"]
        constraints = [
            models.UniqueConstraint(
                fields=["model"], condition=models.Q(ended_at=None), name="one_live_shadow"
            )
        ]

    def __str__(self) -> str:
        return f"{self.model.name} shadow v{self.version.number}"


class ShadowAnswer(models.Model):
    """A champion answer and the shadow's answer to the same rows, compared once."""

    shadow = models.ForeignKey(Shadow, on_delete=models.CASCADE, related_name="answers")
    champion = models.OneToOneField(Prediction, on_delete=models.CASCADE, related_name="shadowed")
    answer = models.OneToOneField(
        Prediction, null=True, blank=True, on_delete=models.CASCADE, related_name="shadow_of"
    )
    # Rows where both gave the same label (classifiers), and |champion - shadow| per row
    # summed up (regressors): enough for the comparison without reading the answers again.
    # False: the champion answer fell outside the shadow's share of calls.
    sampled = models.BooleanField(default=True)
    rows = models.PositiveIntegerField(default=0)
    agreed = models.PositiveIntegerField(default=0)
    differences = models.JSONField(default=list, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"shadow of {self.champion_id}"


class Canary(models.Model):
    """A version that answers ``percent`` of the calls naming no version or alias."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="canaries")
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    percent = models.FloatField()
    sticky = models.BooleanField(default=False)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    since = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-since"]
        constraints = [
            models.UniqueConstraint(
                fields=["model"], condition=models.Q(ended_at=None), name="one_live_canary"
            )
        ]

    def __str__(self) -> str:
        return f"{self.model.name} canary v{self.version.number} ({self.percent}%)"


class VersionReport(models.Model):
    """Heavy work on a version made once by the task worker and kept (recourse per group):
    ``key`` says what it was made from (the version's revision), so a revised version gets a
    new one and an old one is never served for it."""

    class Kind(models.TextChoices):
        RECOURSE = "recourse", "Recourse per group"

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="reports")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.FloatField(default=0.0)
    result = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "kind", "key"], name="unique_version_report")
        ]

    def __str__(self) -> str:
        return f"{self.version} {self.kind} ({self.status})"


class AlertRule(models.Model):
    """A condition on a model's champion that fires once when it starts holding and once when
    it clears (``registry.alerts``): never on every evaluation."""

    class When(models.TextChoices):
        DRIFT = "drift", "Input drift"
        PERFORMANCE = "performance", "Performance from feedback"
        ESTIMATED_PERFORMANCE = "estimated_performance", "Estimated performance"
        LATENCY_P99 = "latency_p99", "p99 latency"
        REFUSED_RATE = "refused_rate", "Refused share of calls"

    class State(models.TextChoices):
        OK = "ok", "OK"
        FIRING = "firing", "Firing"

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="alerts")
    when = models.CharField(max_length=30, choices=When.choices)
    threshold = models.FloatField(null=True, blank=True)
    webhooks = models.ManyToManyField("Webhook", blank=True, related_name="+")
    emails = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OK)
    changed_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    # What the last evaluation saw, in words and as a number (for the API and the card).
    value = models.FloatField(null=True, blank=True)
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.model} {self.when} ({self.state})"
