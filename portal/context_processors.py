from registry.roles import role_of


def role(request):
    """The user's role, for the header and for showing only what they may do."""
    return {"role": role_of(request.user) if hasattr(request, "user") else None}
