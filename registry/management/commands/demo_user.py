"""Create (or reset) the demo login and print its user name and a fresh password."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from registry.roles import MANAGER


class Command(BaseCommand):
    help = "Create or reset the demo user (a manager) with a newly generated password."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")

    def handle(self, *args, **opts):
        user, _ = get_user_model().objects.get_or_create(username=opts["username"])
        password = secrets.token_urlsafe(12)
        user.set_password(password)
        user.is_staff = True
        user.save()
        user.groups.add(Group.objects.get(name=MANAGER))
        self.stdout.write(f"Log in as: {user.username}  password: {password}")
