"""A person's profile: who they are, their role and their API token."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.authtoken.models import Token

from registry import roles


# ---------------------------------------------------------------- profile
@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    token = Token.objects.filter(user=request.user).first()
    # The key is shown in clear once, on the visit right after it was made (a screen shared
    # later, or a shoulder, sees only its last characters); a lost key is replaced.
    fresh = request.session.pop(FRESH_TOKEN_KEY, None)
    ctx = {
        "token": token,
        "token_shown": token is not None and fresh == token.key,
        "token_tail": token.key[-4:] if token else "",
        "role": roles.role_of(request.user),
        "confirm_replace": token is not None and request.GET.get("replace") == "1",
    }
    return render(request, "portal/profile.html", ctx)


FRESH_TOKEN_KEY = "fresh_api_token"


@login_required
@require_POST
def token_reset(request: HttpRequest) -> HttpResponse:
    replaced, _ = Token.objects.filter(user=request.user).delete()
    request.session[FRESH_TOKEN_KEY] = Token.objects.create(user=request.user).key
    messages.success(
        request,
        "A new API token was made; the old one no longer works."
        if replaced
        else "Your API token is ready: copy it into the program that calls the API.",
    )
    return redirect("profile")
