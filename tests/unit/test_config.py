"""Settings: parsing, defaults, and production refusing development secrets."""
from __future__ import annotations

import pytest

from hub import create_app
from hub.config import DEV_JWT_SECRET_KEY, ConfigError, check_config, load_config
from tests.support.helpers import PRODUCTION_SETTINGS

GOOD = PRODUCTION_SETTINGS


def test_environment_variables_are_parsed():
    cfg = load_config(environ={"ALLOW_SIGNUP": "false", "JWT_ACCESS_TOKEN_MINUTES": "5",
                               "MAX_CONTENT_LENGTH": "1024"})
    assert cfg["ALLOW_SIGNUP"] is False
    assert cfg["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds() == 300
    assert cfg["MAX_CONTENT_LENGTH"] == 1024


def test_bad_values_name_the_setting():
    with pytest.raises(ConfigError, match="ALLOW_SIGNUP"):
        load_config(environ={"ALLOW_SIGNUP": "maybe"})
    with pytest.raises(ConfigError, match="JWT_ACCESS_TOKEN_MINUTES"):
        load_config(environ={"JWT_ACCESS_TOKEN_MINUTES": "soon"})
    with pytest.raises(ConfigError, match="HUB_ENV"):
        load_config(environ={"HUB_ENV": "staging"})


def test_production_accepts_real_settings():
    check_config(load_config(environ=GOOD))


@pytest.mark.parametrize("name, value, message", [
    ("SECRET_KEY", "", "SECRET_KEY must be set"),
    ("JWT_SECRET_KEY", "", "JWT_SECRET_KEY must be set"),
    ("JWT_SECRET_KEY", DEV_JWT_SECRET_KEY, "JWT_SECRET_KEY is the development placeholder"),
    ("SECRET_KEY", "short", "SECRET_KEY is too short"),
    ("FLOWER_BASIC_AUTH", "staff:staff", "FLOWER_BASIC_AUTH"),
    ("DATABASE_URL", "sqlite:///x.db", "DATABASE_URL"),
    ("MAIL_TLS_VERIFY", "false", "MAIL_TLS_VERIFY=false"),
    ("MAIL_TLS_CA_FILE", "/nonexistent/relay-ca.pem", "MAIL_TLS_CA_FILE"),
])
def test_production_refuses_missing_or_development_secrets(name, value, message):
    with pytest.raises(ConfigError, match=message):
        check_config(load_config(environ={**GOOD, name: value}))


def test_every_environment_refuses_a_database_that_is_not_postgresql():
    with pytest.raises(ConfigError, match="DATABASE_URL must point at PostgreSQL"):
        check_config(load_config(environ={"HUB_ENV": "development", "DATABASE_URL": "sqlite:///x.db"}))


def test_create_app_refuses_to_start_in_production_with_dev_secret(monkeypatch):
    for key, value in {**GOOD, "SECRET_KEY": ""}.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_development_gets_placeholders_and_is_marked():
    cfg = load_config(environ={"HUB_ENV": "development"})
    assert cfg["SECRET_KEY"] and cfg["JWT_SECRET_KEY"] == DEV_JWT_SECRET_KEY
    assert cfg["TESTING"] is False


def test_relay_chatter_is_dropped_but_its_warnings_are_kept():
    import logging

    from hub.logs import QuietPeriodicFilter

    quiet = QuietPeriodicFilter()

    def record(name, level, msg):
        return logging.LogRecord(name, level, __file__, 1, msg, (), None)

    assert not quiet.filter(record("celery.app.trace", logging.INFO,
                                   "Task hub.maintenance.relay_jobs[x] succeeded"))
    assert quiet.filter(record("celery.app.trace", logging.ERROR,
                               "Task hub.maintenance.relay_jobs[x] raised"))
    assert quiet.filter(record("celery.app.trace", logging.INFO, "Task hub.jobs.run[x] succeeded"))
