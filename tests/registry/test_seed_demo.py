"""``seed_demo``: the demo login and the demo versions."""

from __future__ import annotations

from django.core.management import call_command


# ------------------------------------------------------------------ make run
def test_the_demo_login_keeps_its_password_across_runs(db, settings, tmp_path, capsys):
    settings.DATA_DIR = tmp_path
    call_command("demo_user")
    first = capsys.readouterr().out
    call_command("demo_user")
    assert capsys.readouterr().out == first
    call_command("demo_user", "--reset")
    assert capsys.readouterr().out != first


def test_seed_demo_knows_how_many_versions_each_demo_has():
    from registry.demo import DEMOS
    from registry.management.commands.seed_demo import DEMO_VERSIONS

    assert {d().name: len(d().versions) for d in DEMOS} == DEMO_VERSIONS
