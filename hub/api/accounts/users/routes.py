"""Users of the caller's tenant, managed by its admins."""
from __future__ import annotations

import uuid

from flask.views import MethodView

from hub.api.access import auth_required, current_principal
from hub.api.accounts.users.schemas import UserCreateSchema, UserUpdateSchema
from hub.api.schemas import UserSchema
from hub.services import accounts
from hub.web.envelope import HubBlueprint, PaginationArgsSchema, set_message, set_pagination

blp = HubBlueprint("users", __name__, url_prefix="/users",
                   description="Users of your tenant (admins and owners only).")


@blp.route("")
class Users(MethodView):
    @auth_required(admin=True)
    @blp.arguments(PaginationArgsSchema, location="query")
    @blp.response(200, UserSchema(many=True))
    def get(self, args):
        """List the tenant's users, oldest first."""
        users, total = accounts.list_users(current_principal().tenant_id, **args)
        set_pagination(args["page"], args["per_page"], total)
        return users

    @auth_required(admin=True)
    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema)
    @blp.alt_response(409, response="CONFLICT", description="The email is taken.")
    def post(self, data):
        """Add a user to the tenant. Only an owner can add an owner."""
        p = current_principal()
        set_message("User created.")
        return accounts.create_user(p.actor, p.role, data)


@blp.route("/<uuid:user_id>")
class UserById(MethodView):
    @auth_required(admin=True)
    @blp.response(200, UserSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, user_id: uuid.UUID):
        """One user of the tenant."""
        return accounts.get_user(current_principal().tenant_id, user_id)

    @auth_required(admin=True)
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="Would leave no active owner.")
    def patch(self, changes, user_id: uuid.UUID):
        """Change a user's name, role, active flag or password."""
        p = current_principal()
        user = accounts.get_user(p.tenant_id, user_id)
        set_message("User updated.")
        return accounts.update_user(p.actor, p.role, user, changes)

    @auth_required(admin=True)
    @blp.response(200)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="Would leave no active owner.")
    def delete(self, user_id: uuid.UUID):
        """Remove a user from the tenant."""
        p = current_principal()
        accounts.delete_user(p.actor, p.role, accounts.get_user(p.tenant_id, user_id))
        set_message("User deleted.")
        return None
