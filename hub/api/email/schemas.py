import marshmallow as ma

from hub.services.email import MAX_BODY

NO_LINE_BREAKS = ma.validate.Regexp(r"^[^\r\n]*$", error="must be a single line")


class EmailCreateSchema(ma.Schema):
    """Either `template` + `context`, or `subject` + `text` (+ `html`)."""

    to = ma.fields.List(ma.fields.Email(validate=ma.validate.Length(max=320)), required=True,
                        metadata={"description": "Recipient addresses (duplicates are dropped); "
                                                 "at most EMAIL_MAX_RECIPIENTS."})
    template = ma.fields.String(validate=ma.validate.Length(min=1, max=64),
                                metadata={"description": "A name from GET /emails/templates."})
    context = ma.fields.Dict(metadata={"description": "The template's variables; see its "
                                                      "context_schema."})
    subject = ma.fields.String(validate=[ma.validate.Length(min=1, max=998), NO_LINE_BREAKS])
    text = ma.fields.String(validate=ma.validate.Length(min=1, max=MAX_BODY),
                            metadata={"description": "The plain-text part."})
    html = ma.fields.String(validate=ma.validate.Length(min=1, max=MAX_BODY),
                            metadata={"description": "The HTML part (optional)."})

    @ma.validates_schema
    def _one_kind(self, data, **_kwargs):
        if "template" in data:
            extra = [f for f in ("subject", "text", "html") if f in data]
            if extra:
                raise ma.ValidationError({f: ["not allowed with template"] for f in extra})
            if "context" not in data:
                raise ma.ValidationError({"context": ["required with template (may be {})"]})
            return
        if "context" in data:
            raise ma.ValidationError({"template": ["required with context"]})
        missing = {f: ["required without template"] for f in ("subject", "text") if f not in data}
        if missing:
            raise ma.ValidationError(missing)


class EmailTemplateSchema(ma.Schema):
    name = ma.fields.String()
    description = ma.fields.String()
    required_context = ma.fields.Method("_required",
                                        metadata={"description": "Variables the context must have."})
    context_schema = ma.fields.Dict(metadata={"description": "JSON Schema of the context."})

    def _required(self, template):
        return template.context_schema["required"]
