"""The dossier as a PDF: its content (``registry.dossier``) and figures
(``portal.charting.dossier``, vector SVG) in an HTML template, laid out by WeasyPrint.

WeasyPrint turns HTML and CSS into PDF with Pango for text; it draws SVG as vectors itself, so
no browser is needed at run time (plotly's kaleido would need Chrome). Its import is paid
only by the request that makes a dossier.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.template.loader import render_to_string

from portal.charting.dossier import dossier_figures
from registry.dossier.content import dossier_content
from registry.models import ModelVersion


@dataclass
class Dossier:
    pdf: bytes
    sha256: str
    content_sha256: str
    filename: str


def dossier_html(content: dict) -> str:
    """The dossier's HTML (what the PDF is made from)."""
    return render_to_string(
        "dossier/dossier.html", {"c": content, "figures": dossier_figures(content)}
    )


def dossier_make(*, version: ModelVersion, user) -> Dossier:
    """The version's dossier as a PDF, with the file's sha256 and its content's."""
    # WeasyPrint (and Pango through cffi) is imported by the request that makes a dossier,
    # not by every web process at start (python -X importtime: 1.35 s).
    from weasyprint import HTML

    content = dossier_content(version=version, user=user)
    pdf = HTML(string=dossier_html(content)).write_pdf()
    return Dossier(
        pdf=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(),
        content_sha256=content["content_sha256"],
        filename=f"{version.model.name}-v{version.number}-dossier.pdf",
    )
