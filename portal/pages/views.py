from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from registry.selectors import registered_model_list


@login_required
def dashboard(request):
    ctx = {"models": registered_model_list()}
    return render(request, "portal/dashboard.html", ctx)


@login_required
def catalog(request):
    return HttpResponse("catalog")


@login_required
def model_card(request, name):
    return HttpResponse(name)


@login_required
def whatif(request, name):
    return HttpResponse(name)


@login_required
def prediction_list(request):
    return HttpResponse("predictions")


@login_required
def prediction_detail(request, id):
    return HttpResponse(str(id))


@login_required
def prediction_embed(request, id):
    return HttpResponse(str(id))


@login_required
def profile(request):
    return HttpResponse("profile")
