"""Secrets at rest (Fernet, key rotation) and Standard Webhooks signatures, checked
against the independent `standardwebhooks` implementation."""
from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.fernet import Fernet
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from hub.config import ConfigError, check_config, load_config
from hub.integrations import standard_webhooks
from hub.integrations.crypto import DecryptionError, SecretBox, derive_key, generate_key, parse_keys
from tests.support.helpers import PRODUCTION_SETTINGS

PRODUCTION = {k: v for k, v in PRODUCTION_SETTINGS.items() if k != "ENCRYPTION_KEYS"}


def test_encrypted_value_round_trips_and_does_not_contain_the_plaintext():
    box = SecretBox([generate_key()])
    token = box.encrypt("whsec_very-secret")
    assert "very-secret" not in token and box.decrypt(token) == "whsec_very-secret"
    assert box.encrypt("same") != box.encrypt("same")  # random IV per value


def test_key_rotation_old_values_decrypt_and_rotate_to_the_new_key():
    old, new = generate_key(), generate_key()
    stored = SecretBox([old]).encrypt("api-token")
    both = SecretBox([new, old])
    assert both.decrypt(stored) == "api-token"
    rotated = both.rotate(stored)
    assert SecretBox([new]).decrypt(rotated) == "api-token"
    with pytest.raises(DecryptionError):
        SecretBox([new]).decrypt(stored)
    with pytest.raises(DecryptionError):
        SecretBox([old]).decrypt(rotated)


def test_derived_development_key_is_stable_and_valid():
    assert derive_key("abc") == derive_key("abc") != derive_key("abd")
    Fernet(derive_key("abc").encode())


@pytest.mark.parametrize("value", ["", "not-a-key", "a" * 44, generate_key() + ",shortkey"])
def test_bad_keys_are_refused_without_echoing_them(value):
    with pytest.raises(ValueError) as info:
        parse_keys(value)
    for part in value.split(","):
        assert not part or part not in str(info.value)


def test_production_refuses_to_start_without_encryption_keys():
    with pytest.raises(ConfigError, match="ENCRYPTION_KEYS must be set in production"):
        check_config(load_config(environ=PRODUCTION))
    check_config(load_config(environ={**PRODUCTION, "ENCRYPTION_KEYS": generate_key()}))


def test_malformed_encryption_keys_name_the_setting_in_any_environment():
    with pytest.raises(ConfigError, match="ENCRYPTION_KEYS: key 2 is not a Fernet key"):
        check_config(load_config(environ={"ENCRYPTION_KEYS": f"{generate_key()},nope"}))


@pytest.mark.parametrize("value", ["[]", "[0]", '["5"]', "{}", "[true]"])
def test_bad_retry_schedule_is_refused(value):
    with pytest.raises(ConfigError, match="WEBHOOK_RETRY_SCHEDULE"):
        check_config(load_config(environ={"WEBHOOK_RETRY_SCHEDULE": value}))


def test_outbound_allow_private_defaults_by_environment():
    from hub.services.webhooks import allow_private

    assert allow_private(load_config(environ={"HUB_ENV": "development"})) is True
    assert allow_private(load_config(environ={"HUB_ENV": "testing"})) is True
    assert allow_private(load_config(environ=PRODUCTION)) is False
    assert allow_private(load_config(environ={**PRODUCTION, "OUTBOUND_ALLOW_PRIVATE": "true"})) is True
    assert allow_private(load_config(environ={"HUB_ENV": "development",
                                              "OUTBOUND_ALLOW_PRIVATE": "false"})) is False


def test_generated_secret_has_the_standard_shape():
    secret = standard_webhooks.generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert standard_webhooks.generate_secret() != secret


def test_signature_verifies_with_the_standardwebhooks_library():
    secret = standard_webhooks.generate_secret()
    body = json.dumps({"type": "job.succeeded", "timestamp": "2026-01-01T00:00:00Z",
                       "data": {"id": "1", "note": "ünïcode"}}, ensure_ascii=False).encode()
    headers = standard_webhooks.headers([secret], "msg_abc", int(time.time()), body)
    assert Webhook(secret).verify(body, headers)["data"]["note"] == "ünïcode"
    with pytest.raises(WebhookVerificationError):
        Webhook(standard_webhooks.generate_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)


def test_during_rotation_each_secret_verifies_the_same_message():
    old, new = standard_webhooks.generate_secret(), standard_webhooks.generate_secret()
    body = b'{"type":"invoice.paid","timestamp":"2026-01-01T00:00:00Z","data":{}}'
    headers = standard_webhooks.headers([new, old], "msg_rot", int(time.time()), body)
    assert headers["webhook-signature"].count("v1,") == 2
    Webhook(new).verify(body, headers)
    Webhook(old).verify(body, headers)


def test_known_vector_from_the_specification_examples():
    # The Standard Webhooks reference libraries' shared test vector.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert standard_webhooks.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == \
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
