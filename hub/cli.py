"""`flask --app wsgi hub ...`: operator commands."""
from __future__ import annotations

import os
import uuid

import click
from flask.cli import AppGroup
from sqlalchemy import select

from hub.extensions import db
from hub.models import ROLES, TIERS, Tenant, User
from hub.services import accounts
from hub.services.accounts.passwords import hash_password, weakness

hub_cli = AppGroup("hub", help="Manage tenants and users.")


@hub_cli.command("create-tenant")
@click.argument("name")
@click.option("--tier", type=click.Choice(TIERS), default="standard", show_default=True)
def create_tenant(name: str, tier: str) -> None:
    """Create a tenant and print its id."""
    tenant = accounts.create_tenant(name, tier)
    db.session.commit()
    click.echo(str(tenant.id))


@hub_cli.command("create-user")
@click.option("--tenant", "tenant_id", required=True, type=click.UUID, help="Tenant id.")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True)
@click.option("--staff", is_flag=True, help="Hub operator: sees all tenants' jobs, uses Flower.")
@click.password_option(envvar="HUB_USER_PASSWORD",
                       help="Prompted for when not given (or set HUB_USER_PASSWORD).")
def create_user(tenant_id: uuid.UUID, email: str, name: str, role: str, staff: bool,
                password: str) -> None:
    """Create a user in a tenant and print its id."""
    if db.session.get(Tenant, tenant_id) is None:
        raise click.ClickException(f"no tenant {tenant_id}")
    email = accounts.normalize_email(email)
    if db.session.scalar(select(User).where(User.email == email)) is not None:
        raise click.ClickException(f"a user with email {email} exists")
    _check_new_password(password, [email, name])
    user = User(tenant_id=tenant_id, email=email, name=name, role=role, is_staff=staff,
                password_hash=hash_password(password))
    db.session.add(user)
    db.session.commit()
    click.echo(str(user.id))


def _check_new_password(password: str, hints: list[str]) -> None:
    """The API's rule for a new password (10+ characters, not easy to guess)."""
    if len(password) < 10:
        raise click.ClickException("the password needs at least 10 characters")
    why = weakness(password, hints)
    if why:
        raise click.ClickException(f"the password is too easy to guess. {why}")


@hub_cli.command("seed-demo")
def seed_demo() -> None:
    """Create the demo tenant and user once (DEMO_EMAIL, DEMO_PASSWORD); print them."""
    email = accounts.normalize_email(os.environ.get("DEMO_EMAIL", "demo@example.com"))
    password = os.environ.get("DEMO_PASSWORD")
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        if not password:
            raise click.ClickException("set DEMO_PASSWORD (10+ characters) to create the demo user")
        _check_new_password(password, [email])
        tenant = accounts.create_tenant("Demo", "standard")
        # A tenant owner, not staff: staff see every tenant's jobs, which would mislead
        # anyone trying tenant isolation with the demo login.
        user = User(tenant_id=tenant.id, email=email, name="Demo Owner", role="owner",
                    is_staff=False, password_hash=hash_password(password))
        db.session.add(user)
        db.session.commit()
        click.echo("Created the demo tenant and user.")
    elif user.is_staff:  # made staff by an older seed-demo
        user.is_staff = False
        db.session.commit()
        click.echo("The demo user is no longer staff (a tenant owner only).")
    from flask import current_app

    from hub.api.sync.demo_source.routes import enabled as demo_source_enabled
    from hub.services.sync import connections

    base_url = f"http://127.0.0.1:{os.environ.get('HUB_PORT') or '5000'}"
    if (demo_source_enabled(current_app.config)
            and connections.ensure_demo_connection(user.tenant_id, base_url) is not None):
        click.echo(f"Created a demo connection syncing {base_url}/demo-source/items every 5 minutes.")
    click.echo(f"  demo login: {email} / {password or '(password set when it was created)'}"
               f"  (owner of the Demo tenant; not staff)")
    click.echo(f"  tenant:     {user.tenant.name} ({user.tenant_id})")


@hub_cli.command("init-storage")
@click.option("--origin", "origins", multiple=True,
              help="A browser origin allowed to upload straight to the bucket, besides "
                   "CORS_ORIGINS (e.g. the hub's own public URL, for its console). Repeatable.")
def init_storage(origins: tuple[str, ...]) -> None:
    """Create the S3 bucket (S3_BUCKET) if missing and set its CORS rule; safe to repeat.

    Browsers upload straight to the bucket (POST /files/presign) and fetch
    downloads from it, so it must allow the origins they run on: the --origin
    values and CORS_ORIGINS.
    """
    from flask import current_app

    from hub.integrations.storage import S3Storage, StorageError
    from hub.services.files import current_storage
    from hub.web.security_headers import parse_origins

    storage = current_storage()
    if not isinstance(storage, S3Storage):
        click.echo("STORAGE_BACKEND is local: no bucket to create.")
        return
    config = current_app.config
    allowed = list(dict.fromkeys(parse_origins(",".join(origins)) + parse_origins(config["CORS_ORIGINS"])))
    try:
        done = storage.ensure_bucket(config.get("S3_REGION"), allowed)
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"bucket {storage.bucket}: {'created' if done['created'] else 'exists'}")
    if done["cors"] == "set":
        click.echo(f"CORS: {', '.join(allowed)} may upload and download")
    elif done["cors"] == "unsupported":
        click.echo("CORS: this server takes no bucket CORS rule; it answers browsers itself "
                   "(MinIO: MINIO_API_CORS_ALLOW_ORIGIN)")
    else:
        click.echo("CORS: no origins given (--origin, CORS_ORIGINS); browsers cannot upload directly")


@hub_cli.command("generate-encryption-key")
def generate_encryption_key() -> None:
    """Print a new key for ENCRYPTION_KEYS."""
    from hub.integrations.crypto import generate_key

    click.echo(generate_key())


@hub_cli.command("rotate-encryption")
def rotate_encryption() -> None:
    """Re-encrypt every stored secret with the first ENCRYPTION_KEYS key.

    Rotate a key: put the new key first in ENCRYPTION_KEYS (keep the old one
    after it), restart, run this, then remove the old key.
    """
    from hub.services import encryption

    counts = encryption.rotate_all()
    for name, count in counts.items():
        click.echo(f"{name}: {count}")
    if any(name.endswith(":unreadable") for name in counts):
        raise click.ClickException("some values cannot be decrypted with any configured key; "
                                   "keep every old key until they are dealt with")
