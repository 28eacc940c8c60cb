"""SQLAlchemy models, one module per aggregate."""
from hub.models.account_token import AccountToken
from hub.models.audit import AuditEvent
from hub.models.base import utcnow
from hub.models.email import EmailDailyUsage
from hub.models.file import FILE_STATUSES, File
from hub.models.job import ACTIVE_STATUSES, FINISHED_STATUSES, STATUSES, IdempotencyRecord, Job, JobEvent
from hub.models.payment import Invoice, Reconciliation, StripeEvent, StripeLink  # noqa: F401, I001
from hub.models.tenant import TIERS, Tenant
from hub.models.token import RefreshToken, RevokedToken, TokenFamily
from hub.models.user import ADMIN_ROLES, ROLES, ApiKey, User
from hub.models.webhook import (
    DELIVERY_STATUSES,
    USER_DISABLED_REASON,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = [
    "ACTIVE_STATUSES", "ADMIN_ROLES", "FINISHED_STATUSES", "ROLES", "STATUSES", "TIERS", "ApiKey",
    "AuditEvent", "IdempotencyRecord", "Job", "JobEvent", "RefreshToken", "RevokedToken", "Tenant",
    "TokenFamily", "User", "utcnow",
    "DELIVERY_STATUSES", "USER_DISABLED_REASON", "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint",
    "FILE_STATUSES", "File",
]
__all__ += ["EmailDailyUsage", "AccountToken"]
from hub.models.connection import CONNECTION_STATUSES, Connection, SyncRecord  # noqa: E402

__all__ += ["CONNECTION_STATUSES", "Connection", "SyncRecord"]
from hub.models.demo import DemoEffect  # noqa: E402

__all__ += ["DemoEffect"]
from hub.models.job import PRIORITIES, FlowRate, FlowTurn  # noqa: E402

__all__ += ["PRIORITIES", "FlowRate", "FlowTurn"]
