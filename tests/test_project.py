import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from appeals.models import Appeal
from incidents.models import Incident, Team
from tests.conftest import IN_CI
from tests.services import Stack, wait_for


@pytest.mark.django_db
def test_there_are_no_model_changes_without_a_migration():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)


def test_the_code_is_ruff_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.django_db
def test_ci_runs_on_postgresql():
    if not IN_CI:
        pytest.skip("only CI must use PostgreSQL")
    assert connection.vendor == "postgresql"


@pytest.mark.django_db
def test_loading_the_demo_twice_changes_nothing(demo):
    from django.contrib.auth import get_user_model

    def snapshot():
        return [list(model.objects.order_by("pk").values()) for model in (get_user_model(), Team, Incident, Appeal)] + [
            list(Team.members.through.objects.order_by("pk").values())
        ]

    before = snapshot()
    call_command("load_demo", stdout=StringIO())
    assert snapshot() == before


@pytest.mark.django_db
def test_the_demo_has_an_officer_outside_the_investigating_team(demo):
    from django.contrib.auth import get_user_model

    outsider = get_user_model().objects.get(username="ds.okafor")
    assert not Incident.objects.visible_to(outsider).filter(pk=demo.incident.pk).exists()
    assert Incident.objects.visible_to(demo.incident.officer_in_charge).filter(pk=demo.incident.pk).exists()


@pytest.mark.django_db
def test_healthz_reports_the_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert response.json()["status"] == "ok"


def test_settings_refuse_to_start_without_a_secret_key_when_debug_is_off():
    env = {"PATH": "/usr/bin:/bin", "DEBUG": "false", "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], capture_output=True, text=True, env=env
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_make_run_links_name_the_port_the_site_is_served_on():
    env = {"PATH": "/usr/bin:/bin", "PORT": "8301"}
    result = subprocess.run(
        ["make", "--no-print-directory", "--eval", "site-url: ; @echo $$SITE_URL", "site-url"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert result.stdout.strip() == "http://127.0.0.1:8301"


@pytest.fixture
def manifest_static_files(settings, tmp_path):
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path / "static"
    settings.WHITENOISE_USE_FINDERS = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    return settings.STATIC_ROOT


def test_without_debug_the_site_refuses_to_start_until_static_files_are_collected(manifest_static_files):
    from config.checks import check_static_files_collected

    (error,) = check_static_files_collected(None)
    assert error.id == "config.E001"
    assert "collectstatic" in error.hint


@pytest.mark.django_db
def test_without_debug_pages_are_served_once_static_files_are_collected(manifest_static_files, demo, client):
    from config.checks import check_static_files_collected

    call_command("collectstatic", "--noinput", verbosity=0)
    assert check_static_files_collected(None) == []
    response = client.get(demo.get_absolute_url())
    assert response.status_code == 200
    assert re.search(rb"/static/css/site\.[0-9a-f]{12}\.css", response.content)


def test_imports_run_one_way_without_cycles():
    """config -> evidence -> submissions -> appeals -> incidents, as the contracts in pyproject.toml say."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([lint_imports, "--no-cache"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_workers_know_every_task_that_beat_queues(settings):
    from config.celery import app

    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled <= set(app.tasks)
    assert app.amqp.router.route({}, "submissions.tasks.process_media_file")["queue"].name == "media"
    assert app.amqp.router.route({}, "submissions.tasks.make_web_proxy")["queue"].name == "proxy"
    assert app.amqp.router.route({}, "submissions.tasks.notify_new_submission")["queue"].name == "notify"


def test_each_queue_has_a_worker_of_its_own_in_the_procfile(settings):
    procfile = (Path(__file__).resolve().parent.parent / "deploy" / "Procfile").read_text()
    workers = dict(re.findall(r"^(\w+): .*celery -A config worker --queues (\S+)", procfile, re.MULTILINE))
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()} | {settings.CELERY_TASK_DEFAULT_QUEUE}
    assert workers == {queue: queue for queue in routed} == {"media": "media", "proxy": "proxy", "notify": "notify"}


@pytest.mark.parametrize(("process", "nice"), [("web", 0), ("notify", 5), ("media", 10), ("proxy", 19)])
def test_on_a_shared_machine_the_workers_give_way_to_the_web(tmp_path, process, nice):
    """Started as honcho starts them, in a session of their own: their nice, and their session's autogroup
    nice, which is what Linux weighs first between sessions."""
    (tmp_path / "stack").mkdir()
    stack = Stack(
        tmp_path / "stack", CELERY_BROKER_URL="redis://127.0.0.1:9/0", DATABASE_URL="sqlite:///unused.sqlite3"
    )
    started = stack.start_process(process)
    try:
        # Once the shell and nice have handed over to the program itself (a Python script).
        wait_for(lambda: b"python" in Path(f"/proc/{started.pid}/cmdline").read_bytes().split(b"\0")[0])
        assert os.getpriority(os.PRIO_PROCESS, started.pid) == nice
        autogroup = Path(f"/proc/{started.pid}/autogroup")
        if autogroup.exists():
            assert autogroup.read_text().endswith(f" nice {nice}\n")
    finally:
        stack.kill(started)
