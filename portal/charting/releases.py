"""Figures of a model's release: the shadow's agreement over time and each side's latency."""

from __future__ import annotations

from typing import Any

import charts


def release_figures(report: dict[str, Any]) -> dict[str, Any]:
    """The Release section's figures from :func:`registry.releases.selectors.release_report`:
    none without a shadow or before it compared anything."""
    shadow = report.get("shadow")
    if not shadow or not shadow["compared"]:
        return {}
    return {
        "agreement": charts.shadow_agreement(shadow["series"], classifier="agreement" in shadow),
        "latency": charts.latency_side_by_side(shadow["latency_ms"]),
    }
