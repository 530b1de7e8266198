"""Register a model from the browser: a file of any kind the registry reads (or an MLflow
model's zip), with reference data, as a new model or the next version of one. Managers only,
as in the API (``POST /api/v1/models/``), through the same services and the same checks."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from portal.pages.access import role_required
from portal.web.registration import upload_register
from registry import roles
from registry.models import ModelVersion


class RegisterForm(forms.Form):
    name = forms.SlugField(
        max_length=100,
        help_text="A new name makes a new model; a registered one gets its next version.",
    )
    artifact = forms.FileField(
        required=False,
        label="Model file",
        help_text="skops (scikit-learn), an XGBoost booster (JSON or UBJSON), a LightGBM "
        "booster (text) or an ONNX graph. Pickle and joblib files are refused unread.",
    )
    mlflow_model = forms.FileField(
        required=False,
        label="Or an MLflow model (zip)",
        help_text="A zip of an MLflow model directory: flavors sklearn (skops), xgboost, "
        "lightgbm or onnx. Its signature and input example give the form.",
    )
    reference_data = forms.FileField(
        required=False,
        label="Reference data (CSV)",
        help_text="Rows like those the model was trained on: they give the form's ranges and "
        "choices, the metrics (with the target) and drift's baseline. A booster classifier "
        "needs them, with its target, for its class names.",
    )
    target = forms.CharField(
        required=False, max_length=200, help_text="The reference data's answer column."
    )
    title = forms.CharField(required=False, max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    source = forms.CharField(
        required=False, max_length=500, help_text="Lineage: where the model comes from."
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    allow_breaking = forms.BooleanField(
        required=False,
        label="Accept an interface that breaks callers of the last version",
    )

    def clean(self):
        data = super().clean()
        given = [key for key in ("artifact", "mlflow_model") if data.get(key)]
        if len(given) != 1:
            self.add_error(
                "artifact" if not given else "mlflow_model",
                "Choose a model file or an MLflow model's zip."
                if not given
                else "Give a model file or an MLflow model's zip, not both.",
            )
        limit = settings.PORTAL["MAX_ARTIFACT_BYTES"]
        for key in ("artifact", "mlflow_model", "reference_data"):
            upload: UploadedFile | None = data.get(key)
            if upload is not None and upload.size > limit:
                self.add_error(key, f"The file is larger than {limit:,} bytes.")
        return data

    def refusal(self, error: ValidationError) -> None:
        """Put a service's refusal beside the field it names, or above the form."""
        if hasattr(error, "error_dict"):
            for key, refusals in error.message_dict.items():
                self.add_error(key if key in self.fields else None, refusals)
        else:
            self.add_error(None, error.messages)


def _register(form: RegisterForm, user) -> ModelVersion:
    data = form.cleaned_data
    upload = data.get("artifact") or data["mlflow_model"]
    return upload_register(
        artifact=data.get("artifact"),
        mlflow_model=data.get("mlflow_model"),
        reference_data=data.get("reference_data"),
        name=data["name"],
        target=data["target"] or None,
        title=data["title"],
        description=data["description"],
        allow_breaking=data["allow_breaking"],
        source=data["source"] or f"Upload of {upload.name} on the register page",
        notes=data["notes"],
        user=user,
    )


@role_required(roles.MANAGER)
@require_http_methods(["GET", "POST"])
def model_register(request: HttpRequest) -> HttpResponse:
    form = RegisterForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            version = _register(form, request.user)
        except ValidationError as error:
            form.refusal(error)
        else:
            messages.success(
                request,
                f"Registered {version.model.name} v{version.number} "
                f"({version.framework or 'model'}).",
            )
            card = reverse("model_card", args=[version.model.name])
            return redirect(f"{card}?version={version.number}")
    return render(
        request, "portal/register.html", {"form": form}, status=400 if form.errors else 200
    )
