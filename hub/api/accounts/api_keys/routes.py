"""API keys for server-to-server calls (`X-API-Key`)."""
from __future__ import annotations

import uuid

from flask.views import MethodView

from hub.api.access import auth_required, current_principal
from hub.api.accounts.api_keys.schemas import ApiKeyCreatedSchema, ApiKeyCreateSchema, ApiKeySchema
from hub.services import accounts
from hub.web.envelope import HubBlueprint, PaginationArgsSchema, set_message, set_pagination

blp = HubBlueprint("api-keys", __name__, url_prefix="/api-keys",
                   description="API keys of your tenant (admins and owners, with a user token).")

# A key cannot mint or revoke keys: that needs a person's token.
_admin_user = auth_required(admin=True, allow_api_key=False)


@blp.route("")
class ApiKeys(MethodView):
    @_admin_user
    @blp.arguments(PaginationArgsSchema, location="query")
    @blp.response(200, ApiKeySchema(many=True))
    def get(self, args):
        """List the tenant's live keys (without their secrets), newest first."""
        keys, total = accounts.list_api_keys(current_principal().tenant_id, **args)
        set_pagination(args["page"], args["per_page"], total)
        return keys

    @_admin_user
    @blp.arguments(ApiKeyCreateSchema)
    @blp.response(201, ApiKeyCreatedSchema)
    def post(self, data):
        """Create a key. The secret is in this response only; store it now."""
        p = current_principal()
        key, plain = accounts.create_api_key(p.actor, p.role, data["name"], data["role"])
        set_message("API key created; copy it now, it is not shown again.")
        key.plain_key = plain  # transient: serialised once, never stored
        return key


@blp.route("/<uuid:key_id>")
class ApiKeyById(MethodView):
    @_admin_user
    @blp.response(200)
    @blp.alt_response(404, response="NOT_FOUND")
    def delete(self, key_id: uuid.UUID):
        """Revoke a key; it stops working at once."""
        accounts.revoke_api_key(current_principal().actor, key_id)
        set_message("API key revoked.")
        return None
