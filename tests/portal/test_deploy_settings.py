"""The README's production settings pass Django's deploy checks."""

import os
import re
import secrets
import subprocess
import sys

from portal import settings as settings_module


def _production_env() -> dict[str, str]:
    """The variables the README's production section exports, with its placeholders filled."""
    readme = (settings_module.BASE_DIR / "README.md").read_text()
    block = re.search(r"```sh\n# production\n(.*?)```", readme, re.S).group(1)
    env = {}
    for name, value in re.findall(r"^export (\w+)=(\S+)", block, re.M):
        env[name] = value
    return env


def test_check_deploy_with_the_readme_production_settings_warns_nothing(tmp_path):
    env = _production_env()
    assert {"SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE"} <= set(env)
    env["SECRET_KEY"] = secrets.token_urlsafe(50)  # the README says: a long random value
    env.pop("DATABASE_URL", None)  # the check needs no database server
    env.update(PATH=os.environ["PATH"], DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="")
    env.pop("DJANGO_SETTINGS_MODULE")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings_module.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
