
from hub.api.schemas import NewPasswordSchema, email_field, name_field, password_field, role_field
from hub.web.fields import JSONBoolean


class UserCreateSchema(NewPasswordSchema):
    email = email_field(required=True)
    name = name_field(required=True)
    password = password_field(required=True)
    role = role_field(load_default="member")


class UserUpdateSchema(NewPasswordSchema):
    name = name_field()
    role = role_field()
    is_active = JSONBoolean()
    password = password_field()
