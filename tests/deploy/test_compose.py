"""docker-compose.yml and the Dockerfile, checked without Docker (it cannot run here)."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess

import pytest
import yaml

from tests.deploy.conftest import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ("migrate", "web", "worker", "beat")


def test_every_service_is_health_checked_or_waits_on_a_condition():
    for name, service in SERVICES.items():
        depends = service.get("depends_on") or {}
        assert "healthcheck" in service or (
            isinstance(depends, dict) and all("condition" in d for d in depends.values())
        ), name
        for target, dependency in depends.items() if isinstance(depends, dict) else ():
            assert target in SERVICES, (name, target)
            if dependency["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[target], (name, target)


def test_the_stack_has_its_parts():
    assert {"db", "redis", "migrate", "web", "worker", "beat"} <= set(SERVICES)
    assert SERVICES["migrate"]["restart"] == "no"
    assert SERVICES["web"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert {"pgdata", "redisdata"} <= set(COMPOSE["volumes"])


def test_app_services_get_the_settings_the_app_reads():
    for name in APP_SERVICES:
        env = SERVICES[name]["environment"]
        for key in ("DATABASE_URL", "SECRET_KEY", "CELERY_BROKER_URL", "RATELIMIT_STORAGE_URI"):
            assert env.get(key), (name, key)
        assert env["DATABASE_URL"].startswith("postgresql://")
        assert "@db:5432/" in env["DATABASE_URL"]
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
        assert env["RATELIMIT_STORAGE_URI"].startswith("redis://redis:6379/")
    from grader.settings import Settings

    for key in ("DATABASE_URL", "SECRET_KEY", "CELERY_BROKER_URL", "RATELIMIT_STORAGE_URI"):
        assert key.lower() in Settings.model_fields  # names the app really reads


def test_commands_name_real_entry_points():
    web = " ".join(SERVICES["web"]["command"])
    assert "gunicorn.conf.py" in web and "grader:create_app()" in web
    assert (ROOT / "gunicorn.conf.py").exists()
    module, factory = "grader:create_app()".rstrip("()").split(":")
    assert callable(getattr(importlib.import_module(module), factory))
    for name in ("worker", "beat"):
        command = SERVICES[name]["command"]
        assert command[:3] == ["celery", "-A", "grader.worker"], name
    assert (ROOT / "grader" / "worker.py").exists()
    assert "celery" in (ROOT / "grader" / "worker.py").read_text()
    migrate = " ".join(SERVICES["migrate"]["command"])
    assert "grader db upgrade" in migrate and "grader exercises import" in migrate
    assert SERVICES["worker"]["healthcheck"]["test"] == ["CMD", "grader", "sandbox", "check"]


def test_worker_may_create_the_namespaces_bubblewrap_needs():
    assert {"seccomp=unconfined", "apparmor=unconfined"} <= set(SERVICES["worker"]["security_opt"])
    assert "security_opt" not in SERVICES["web"]  # the web never runs student code


def test_dockerfile_installs_what_the_commands_use():
    text = (ROOT / "Dockerfile").read_text()
    assert "bubblewrap" in text
    assert re.search(r"COPY gunicorn\.conf\.py", text)
    assert "gunicorn.conf.py" in text.splitlines()[-1]
    for folder in ("grader", "migrations", "exercises"):
        assert f"COPY {folder}" in text
    assert "USER grader" in text


def test_docker_compose_config_accepts_the_file():
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("the docker client has no compose plugin")
    done = subprocess.run(
        [docker, "compose", "-f", str(ROOT / "docker-compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"SECRET_KEY": "x", "POSTGRES_PASSWORD": "y", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr


def test_nginx_is_in_front_of_the_web_and_the_web_is_not_published():
    proxy = SERVICES["proxy"]
    assert proxy["image"].startswith("nginx:")
    assert "ports" not in SERVICES["web"] and "8000" in SERVICES["web"]["expose"]
    assert proxy["ports"] == ["${GRADER_WEB_PORT:-8000}:8080"]
    source, target, _mode = proxy["volumes"][0].split(":")
    assert (ROOT / source).is_file() and target.startswith("/etc/nginx/templates/")
    assert proxy["environment"] == {"GRADER_UPSTREAM": "web:8000", "NGINX_PORT": "8080"}
    assert proxy["depends_on"]["web"]["condition"] == "service_healthy"
    assert SERVICES["web"]["environment"]["GRADER_PROXY_HOPS"] == "1"
    from grader.settings import Settings

    assert "grader_proxy_hops" in Settings.model_fields  # a setting the app reads
