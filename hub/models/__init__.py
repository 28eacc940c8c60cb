"""SQLAlchemy models, one module per aggregate."""
from hub.models.audit import AuditEvent
from hub.models.base import utcnow
from hub.models.tenant import TIERS, Tenant
from hub.models.token import RefreshToken, RevokedToken, TokenFamily
from hub.models.user import ADMIN_ROLES, ROLES, ApiKey, User

__all__ = [
    "ADMIN_ROLES", "ROLES", "TIERS", "ApiKey", "AuditEvent", "RefreshToken", "RevokedToken",
    "Tenant", "TokenFamily", "User", "utcnow",
]
