"""Configuration: one typed class reads the environment, bad values are named errors, and
reading it (or importing the package) writes nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from grader import create_app
from grader.config import Config
from grader.settings import SettingsError, load_settings
from tests.conftest import ROOT


@pytest.fixture()
def env(monkeypatch, tmp_path):
    """A clean environment for the settings: only what the test sets."""
    for name in ("DATABASE_URL", "SECRET_KEY", "GRADER_MAX_BODY_BYTES", "CELERY_BROKER_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GRADER_INSTANCE_PATH", str(tmp_path / "instance"))
    return monkeypatch


@pytest.mark.parametrize(
    ("given", "expected"),
    [("262144", 262144), ("256k", 262144), ("256 KiB", 262144), ("1M", 1 << 20), ("2mb", 2 << 20)],
)
def test_body_limit_takes_bytes_or_k_and_m(env, given, expected):
    env.setenv("GRADER_MAX_BODY_BYTES", given)
    assert load_settings().grader_max_body_bytes == expected
    assert Config().MAX_CONTENT_LENGTH == expected


@pytest.mark.parametrize("given", ["256x", "lots", "-5", "0", "1.5k"])
def test_a_bad_body_limit_is_an_error_that_names_the_variable(env, given):
    env.setenv("GRADER_MAX_BODY_BYTES", given)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "GRADER_MAX_BODY_BYTES" in str(info.value) and repr(given) in str(info.value)


def test_every_bad_value_is_listed_at_once(env):
    env.setenv("GRADER_DB_POOL_SIZE", "many")
    env.setenv("GRADER_SECURE_COOKIES", "perhaps")
    with pytest.raises(SettingsError) as info:
        create_app()
    assert "GRADER_DB_POOL_SIZE='many'" in str(info.value)
    assert "GRADER_SECURE_COOKIES='perhaps'" in str(info.value)


def test_empty_variables_count_as_unset(env):
    env.setenv("CELERY_BROKER_URL", "")
    env.setenv("GRADER_SECURE_COOKIES", "")
    settings = load_settings()
    assert settings.celery_broker_url is None and settings.grader_secure_cookies is False


def test_database_url_is_normalised_for_psycopg(env):
    env.setenv("DATABASE_URL", "postgres://u@h/db")
    assert Config().SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://u@h/db"


def test_reading_the_configuration_writes_nothing(env, tmp_path):
    config = Config()
    assert config.SECRET_KEY is None
    assert not (tmp_path / "instance").exists()


def test_the_app_keeps_a_laptop_secret_in_its_instance_folder(env, tmp_path):
    first = create_app().config["SECRET_KEY"]
    assert (tmp_path / "instance" / "secret_key").read_text().strip() == first
    assert create_app().config["SECRET_KEY"] == first
    env.setenv("SECRET_KEY", "from-the-environment")
    assert create_app().config["SECRET_KEY"] == "from-the-environment"


def test_importing_the_package_makes_no_folder(tmp_path):
    folder = tmp_path / "prometheus"
    code = "import grader.metrics, grader.config, grader.tasks, grader.services.grading"
    subprocess.run(
        [sys.executable, "-c", code],
        env={"PROMETHEUS_MULTIPROC_DIR": str(folder), "PATH": "/usr/bin:/bin"},
        cwd=ROOT,
        check=True,
    )
    assert not folder.exists()


def test_the_metrics_folder_is_made_when_the_app_is_built(env, tmp_path):
    folder = tmp_path / "prometheus"
    env.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    create_app()
    assert folder.is_dir()
