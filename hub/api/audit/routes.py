"""The tenant's audit trail."""
from __future__ import annotations

from flask.views import MethodView

from hub import audit
from hub.api.access import auth_required, current_principal
from hub.api.audit.schemas import AuditEventSchema, AuditQuerySchema
from hub.web.envelope import HubBlueprint, set_pagination

blp = HubBlueprint("audit", __name__, url_prefix="/audit-events",
                   description="Who did what, when, from which request (admins and owners).")


@blp.route("")
class AuditEvents(MethodView):
    @auth_required(admin=True)
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, AuditEventSchema(many=True))
    def get(self, args):
        """The tenant's audit events, newest first."""
        page, per_page = args.pop("page"), args.pop("per_page")
        events, total = audit.list_events(current_principal().tenant_id, page, per_page, **args)
        set_pagination(page, per_page, total)
        return events
