"""Mail settings: checked when the app is made, and read when they are used."""
from __future__ import annotations

import pytest

from hub import create_app
from hub.config import ConfigError, check_config, load_config
from hub.jobs.types import get_job_type


@pytest.mark.parametrize("environ, message", [
    ({"MAIL_USE_TLS": "true", "MAIL_USE_SSL": "true"}, "exclude each other"),
    ({"MAIL_DEFAULT_SENDER": "Hub"}, "MAIL_DEFAULT_SENDER"),
    ({"MAIL_USERNAME": "hub"}, "MAIL_USERNAME and MAIL_PASSWORD"),
    ({"EMAIL_DAILY_LIMIT": "0"}, "EMAIL_DAILY_LIMIT"),
    ({"EMAIL_RETRY_BASE_SECONDS": "0"}, "EMAIL_RETRY_BASE_SECONDS"),
    ({"MAIL_PORT": "smtp"}, "MAIL_PORT"),
])
def test_unusable_mail_settings_are_refused_by_name(environ, message):
    with pytest.raises(ConfigError, match=message):
        check_config(load_config(environ=environ))


def test_sending_is_suppressed_only_in_testing_unless_set():
    assert create_app({"HUB_ENV": "testing"}).extensions["mail"].suppress is True
    assert create_app({"HUB_ENV": "development"}).extensions["mail"].suppress is False
    explicit = create_app({"HUB_ENV": "testing", "MAIL_SUPPRESS_SEND": False})
    assert explicit.extensions["mail"].suppress is False


def test_retry_backoff_follows_the_setting_when_the_retry_is_scheduled():
    policy = get_job_type("email.send").retry
    app = create_app({"HUB_ENV": "testing", "EMAIL_RETRY_BASE_SECONDS": 2})
    with app.app_context():
        assert policy.describe()["base_delay"] == 2
        delays = [policy.delay(attempt) for attempt in (1, 2, 3)]
    assert 1.6 <= delays[0] <= 2.4 and 3.2 <= delays[1] <= 4.8 and 6.4 <= delays[2] <= 9.6
    assert policy.describe()["base_delay"] == 5.0  # outside an app: the documented default
