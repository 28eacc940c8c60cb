"""argon2id's cost comes from the settings: production refuses a weak one, and a hash made
with other parameters is redone at the next login."""
from __future__ import annotations

import uuid

import pytest
from argon2 import PasswordHasher

from hub.config import ConfigError, check_config, load_config
from hub.extensions import db
from hub.models import User
from tests.support.helpers import PASSWORD
from tests.unit.test_config import GOOD


@pytest.mark.parametrize("name, value", [("ARGON2_MEMORY_KIB", "8192"), ("ARGON2_TIME_COST", "1")])
def test_production_refuses_less_than_owasps_minimum(name, value):
    with pytest.raises(ConfigError, match=name):
        check_config(load_config(environ={**GOOD, name: value}))


def test_argon2_refuses_impossible_parameters_in_any_environment():
    with pytest.raises(ConfigError, match="ARGON2_MEMORY_KIB"):
        check_config(load_config(environ={"ARGON2_MEMORY_KIB": "8", "ARGON2_PARALLELISM": "2"}))
    with pytest.raises(ConfigError, match="ARGON2_TIME_COST"):
        check_config(load_config(environ={"ARGON2_TIME_COST": "0"}))
    check_config(load_config(environ={"ARGON2_MEMORY_KIB": "1024", "ARGON2_TIME_COST": "1"}))


def test_a_hash_made_with_other_parameters_is_redone_at_login(app, client, register):
    owner = register()
    old = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=2).hash(PASSWORD)
    with app.app_context():
        db.session.get(User, uuid.UUID(owner.user["id"])).password_hash = old
        db.session.commit()
    resp = client.post("/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD})
    assert resp.status_code == 200, resp.get_json()
    with app.app_context():
        new = db.session.get(User, uuid.UUID(owner.user["id"])).password_hash
    cfg = app.config
    assert new.startswith(f"$argon2id$v=19$m={cfg['ARGON2_MEMORY_KIB']},t={cfg['ARGON2_TIME_COST']},"
                          f"p={cfg['ARGON2_PARALLELISM']}$")
    again = client.post("/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD})
    assert again.status_code == 200
