from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from registry.selectors import registered_model_list


@login_required
def dashboard(request):
    ctx = {"models": registered_model_list()}
    return render(request, "portal/dashboard.html", ctx)
