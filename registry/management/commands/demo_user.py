"""Create the demo login (a manager) and print its user name and password.

The password is kept under DATA_DIR between runs, so restarting the portal neither changes
it nor logs anyone out; ``--reset`` makes a new one (which ends the user's sessions).
"""

import json
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from registry.roles import MANAGER


class Command(BaseCommand):
    help = "Create the demo user (a manager) and print its login; --reset makes a new password."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--reset", action="store_true", help="Make a new password.")

    def handle(self, *args, **opts):
        user, _ = get_user_model().objects.get_or_create(username=opts["username"])
        kept = settings.DATA_DIR / f"{user.username}.login.json"
        password = None
        if kept.exists() and not opts["reset"]:
            saved = json.loads(kept.read_text())
            # The stored hash still being the user's means nobody changed the password since;
            # comparing it is instant where check_password would cost a key derivation.
            if saved.get("hash") == user.password:
                password = saved["password"]
        if password is None:
            password = secrets.token_urlsafe(12)
            user.set_password(password)
        user.is_staff = True
        user.save()
        user.groups.add(Group.objects.get(name=MANAGER))
        kept.touch(mode=0o600)
        kept.write_text(json.dumps({"password": password, "hash": user.password}))
        self.stdout.write(f"Log in as: {user.username}  password: {password}")
