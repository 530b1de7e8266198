import pytest
from django.contrib.auth.models import Group

from registry.roles import has_role, role_of


@pytest.mark.django_db
def test_the_three_roles_exist_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= {"viewer", "analyst", "manager"}


def test_each_role_includes_the_ones_below(make_user):
    viewer, analyst, manager = make_user("v", "viewer"), make_user("a"), make_user("m", "manager")
    assert (role_of(viewer), role_of(analyst), role_of(manager)) == ("viewer", "analyst", "manager")
    assert has_role(manager, "analyst") and has_role(analyst, "viewer")
    assert not has_role(viewer, "analyst") and not has_role(analyst, "manager")
    assert not has_role(make_user("nobody", None), "viewer")


def test_a_superuser_is_a_manager(make_user):
    admin = make_user("root", None, is_superuser=True)
    assert role_of(admin) == "manager"
