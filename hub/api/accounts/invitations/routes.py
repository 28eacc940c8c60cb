"""Invitations: an admin invites someone by email with a role; the link lets them join."""
from __future__ import annotations

import uuid

from flask import current_app
from flask.views import MethodView

from hub.api.access import auth_required, current_principal
from hub.api.accounts.auth.routes import public_base_url
from hub.api.accounts.invitations.schemas import (
    InvitationAcceptedSchema,
    InvitationAcceptSchema,
    InvitationCreateSchema,
    InvitationSchema,
)
from hub.extensions import limiter
from hub.services import accounts
from hub.services.accounts import lifecycle as account_lifecycle
from hub.web.envelope import HubBlueprint, PaginationArgsSchema, set_message, set_pagination

blp = HubBlueprint("invitations", __name__, url_prefix="/invitations",
                   description="Invite people to your tenant by email (admins and owners).")

_admin_user = auth_required(admin=True, allow_api_key=False)


@blp.route("")
class Invitations(MethodView):
    @_admin_user
    @blp.arguments(PaginationArgsSchema, location="query")
    @blp.response(200, InvitationSchema(many=True))
    def get(self, args):
        """The tenant's pending invitations, newest first."""
        rows, total = account_lifecycle.list_invitations(current_principal().tenant_id, **args)
        set_pagination(args["page"], args["per_page"], total)
        return rows

    @_admin_user
    @blp.arguments(InvitationCreateSchema)
    @blp.response(201, InvitationSchema)
    @blp.alt_response(403, response="FORBIDDEN", description="Only an owner may invite an owner.")
    def post(self, data):
        """Invite an address with a role; it gets a one-time link (INVITATION_TTL_HOURS).

        Inviting the same address again replaces the pending invitation.
        """
        p = current_principal()
        row = account_lifecycle.invite(p.actor, p.role, p.user, data["email"], data["role"],
                                       public_base_url())
        set_message("Invitation sent.")
        return row


@blp.route("/<uuid:invitation_id>")
class InvitationById(MethodView):
    @_admin_user
    @blp.response(200)
    @blp.alt_response(404, response="NOT_FOUND")
    def delete(self, invitation_id: uuid.UUID):
        """Revoke a pending invitation; its link stops working."""
        account_lifecycle.revoke_invitation(current_principal().actor, invitation_id)
        set_message("Invitation revoked.")
        return None


@blp.route("/accept", methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT_IP"])
@blp.arguments(InvitationAcceptSchema)
@blp.response(201, InvitationAcceptedSchema)
@blp.alt_response(400, response="BAD_REQUEST", description="The link is unusable.")
@blp.alt_response(409, response="CONFLICT", description="The address already has an account.")
def accept(data):
    """Accept an invitation (no login: the link is the proof): choose a name and a password."""
    user = account_lifecycle.accept_invitation(data["token"], data["name"], data["password"])
    pair = accounts.start_session(user)
    set_message("Welcome aboard.")
    return {**pair, "user": user, "tenant": user.tenant}
