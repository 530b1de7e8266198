"""Forms generated from a version's interface.

The form renders the inputs and carries the raw values; the interface itself validates them
(one set of rules for pages, API and batch). Its errors come back through ``add_error``.
The history page's filters are a plain form below.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone

from registry.interface import InputField, Interface, InvalidInput


def _field(spec: InputField) -> forms.Field:
    s = spec.spec
    attrs: dict[str, Any] = {"id": f"in-{spec.name}"}
    if s.get("description"):
        attrs["aria-describedby"] = f"help-{spec.name}"
    if spec.type in ("number", "integer"):
        # The box takes any number; the step is the slider's. A typed value the browser
        # thinks off-step would be held back silently (issue 9); the interface says what
        # it refuses, next to the input.
        attrs.update(step="any", inputmode="decimal")
        if spec.min is not None:
            attrs["min"] = spec.min
        if spec.max is not None:
            attrs["max"] = spec.max
        widget: forms.Widget = forms.NumberInput(attrs=attrs)
    elif spec.type == "category":
        widget = forms.Select(attrs=attrs, choices=[(c, c) for c in spec.choices])
    elif spec.type == "boolean":
        widget = forms.CheckboxInput(attrs=attrs)
    elif spec.type == "date":
        widget = forms.DateInput(attrs={**attrs, "type": "date"})
    else:
        widget = forms.TextInput(attrs=attrs)
    field = forms.CharField(
        required=False, label=s.get("label") or spec.name, widget=widget, strip=True
    )
    field.spec = spec
    if spec.type in ("number", "integer"):
        low = spec.observed_min if spec.observed_min is not None else spec.min
        high = spec.observed_max if spec.observed_max is not None else spec.max
        if low is not None and high is not None and high > low:
            field.slider = {"min": low, "max": high, "step": s.get("step") or "any"}
    return field


class InterfaceForm(forms.Form):
    """One field per declared input, in the model's order."""

    def __init__(self, interface: Interface, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.interface = interface
        for spec in interface.fields:
            self.fields[spec.name] = _field(spec)

    def row(self) -> dict[str, Any]:
        """The submitted values as one raw row for the interface to validate."""
        row = {}
        for name, field in self.fields.items():
            value = self.cleaned_data.get(name)
            if field.spec.type == "boolean":
                value = "true" if value in ("True", "true", "on") else "false"
            row[name] = value
        return row

    def error_summary(self) -> str:
        """The marked inputs by label, as the banner names them: BMI, then why."""
        return "; ".join(
            f"{self.fields[name].label if name in self.fields else name} – {' '.join(errors)}"
            for name, errors in self.errors.items()
            if name != NON_FIELD_ERRORS
        )

    def add_interface_errors(self, error: InvalidInput) -> None:
        for name, messages in error.row_errors.get(0, {}).items():
            if name in self.fields:
                for message in messages:
                    self.add_error(name, message)
                self.fields[name].widget.attrs["aria-invalid"] = "true"
            else:
                self.add_error(None, f"{name}: {' '.join(messages)}")


def query_values(interface: Interface, data: Any) -> dict[str, Any]:
    """The interface's inputs present in a query string or POST body."""
    return {name: data.get(name) for name in interface.names if name in data}


def form_data(values: dict[str, Any]) -> dict[str, Any]:
    """Values as a form's bound data. A boolean travels as a checkbox plus a hidden "false"
    before it (see the template), so an unticked box is still sent and a link keeps it."""
    data = {}
    for key, value in values.items():
        if value is None:
            continue
        data[key] = ("on" if value else "false") if isinstance(value, bool) else value
    return data


# Outside these a date is a typo (a five-digit year), and the day after the last one must
# still be a date: "until" is turned into the start of the next day.
FIRST_DAY = dt.date(1970, 1, 1)
LAST_DAY = dt.date(9999, 12, 30)


def _day_field(label: str) -> forms.DateField:
    return forms.DateField(
        required=False,
        label=label,
        validators=[MinValueValidator(FIRST_DAY), MaxValueValidator(LAST_DAY)],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
    )


class HistoryFilterForm(forms.Form):
    """The history page's filters, from its query string. Model and source are taken as
    given (an unknown one matches nothing); the dates are checked, and each valid filter
    applies even when another is refused."""

    model = forms.CharField(required=False)
    source = forms.CharField(required=False)
    since = _day_field("Since")
    until = _day_field("Until")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", f"Until ({until}) is before since ({since}).")
        return data

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for ``selectors.prediction_list``: the valid filters only, the
        days as the start of "since" and the start of the day after "until", local time."""
        data = getattr(self, "cleaned_data", {})
        since, until = data.get("since"), data.get("until")
        return {
            "model": data.get("model") or None,
            "source": data.get("source") or None,
            "since": _day_start(since) if since else None,
            "until": _day_start(until + dt.timedelta(days=1)) if until else None,
        }


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
