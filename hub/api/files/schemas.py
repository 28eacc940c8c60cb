
import marshmallow as ma

from hub.api.jobs.schemas import JobErrorSchema
from hub.api.schemas import UTCDateTimeField
from hub.models import FILE_STATUSES
from hub.services import files
from hub.web import jsonio
from hub.web.envelope import PaginationArgsSchema
from hub.web.errors import HubError
from hub.web.fields import JSONBoolean

COLUMN_TYPES = ("string", "integer", "number", "boolean", "date", "datetime", "email")
PUBLIC_STATUSES = ("pending", "uploaded", "processing", "processed", "failed")


class CsvColumnSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    type = ma.fields.String(load_default="string", validate=ma.validate.OneOf(COLUMN_TYPES))
    required = JSONBoolean(load_default=False,
                                 metadata={"description": "An empty value is an error."})
    enum = ma.fields.List(ma.fields.String(validate=ma.validate.Length(max=500)),
                          validate=ma.validate.Length(min=1, max=200))
    min = ma.fields.Float(allow_nan=False, metadata={"description": "integer/number columns"})
    max = ma.fields.Float(allow_nan=False, metadata={"description": "integer/number columns"})
    max_length = ma.fields.Integer(validate=ma.validate.Range(min=1))


class CsvSchemaSchema(ma.Schema):
    """The columns a CSV must have; checked row by row when the file is processed."""

    columns = ma.fields.List(ma.fields.Nested(CsvColumnSchema), required=True,
                             validate=ma.validate.Length(min=1, max=500))
    header = JSONBoolean(load_default=True,
                               metadata={"description": "The first row names the columns; without "
                                                        "a header, columns are matched by position."})
    allow_extra_columns = JSONBoolean(load_default=True)
    delimiter = ma.fields.String(validate=ma.validate.OneOf([",", ";", "\t", "|"]),
                                 metadata={"description": "Found from the data when not given."})

    @ma.validates_schema
    def _unique_names(self, data, **kwargs):
        names = [column["name"] for column in data.get("columns", [])]
        if len(names) != len(set(names)):
            raise ma.ValidationError("column names must be unique", "columns")


class JsonTextField(ma.fields.Field):
    """A form field holding JSON text, loaded with a nested schema."""

    def __init__(self, schema: type[ma.Schema], **kwargs):
        super().__init__(**kwargs)
        self.schema = schema

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            parsed = jsonio.loads(value)  # bounded depth, finite numbers, like a JSON body
        except (TypeError, ValueError):
            raise ma.ValidationError("not valid JSON") from None
        except HubError as exc:
            raise ma.ValidationError(exc.message) from None
        return self.schema().load(parsed)


class UploadFormSchema(ma.Schema):
    """Form fields of `POST /files`, sent before the `file` part."""

    csv_schema = JsonTextField(CsvSchemaSchema, metadata={
        "description": "JSON text: the CSV column schema (see CsvSchema)."})


class PresignSchema(ma.Schema):
    filename = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1000))
    content_type = ma.fields.String(
        required=True, validate=ma.validate.Length(min=3, max=255),
        metadata={"pattern": r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/"
                             r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(;.*)?$",
                  "description": "A media type, `type/subtype`; parameters are ignored."})
    size = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=1),
                             metadata={"description": "Exact size in bytes; the upload must match."})
    csv_schema = ma.fields.Nested(CsvSchemaSchema, load_default=None, allow_none=True)

    @ma.validates("content_type")
    def _content_type(self, value, **kwargs):
        if files.normalize_content_type(value) is None:
            raise ma.ValidationError("not a media type (type/subtype)")


class FileQuerySchema(PaginationArgsSchema):
    status = ma.fields.String(validate=ma.validate.OneOf(FILE_STATUSES))


class FileSchema(ma.Schema):
    id = ma.fields.UUID()
    filename = ma.fields.String()
    content_type = ma.fields.String(metadata={
        "description": "Sniffed from the bytes once processed; application/octet-stream before."})
    declared_content_type = ma.fields.String(allow_none=True,
                                             metadata={"description": "What the client said."})
    size = ma.fields.Integer(allow_none=True)
    sha256 = ma.fields.String(allow_none=True)
    status = ma.fields.Function(files.public_status, metadata={"enum": list(PUBLIC_STATUSES)})
    metadata = ma.fields.Dict(attribute="file_metadata", metadata={
        "description": "What processing found: kind, image size and thumbnail, CSV rows and errors."})
    csv_schema = ma.fields.Dict(allow_none=True)
    error = ma.fields.Nested(JobErrorSchema, allow_none=True)
    job_id = ma.fields.UUID(allow_none=True)
    has_thumbnail = ma.fields.Function(lambda f: f.thumbnail_key is not None)
    storage_backend = ma.fields.String()
    created_by = ma.fields.UUID(allow_none=True)
    created_at = UTCDateTimeField()
    uploaded_at = UTCDateTimeField(allow_none=True)
    processed_at = UTCDateTimeField(allow_none=True)
    updated_at = UTCDateTimeField()


class UploadTargetSchema(ma.Schema):
    url = ma.fields.String()
    method = ma.fields.String(metadata={"enum": ["POST", "PUT"]})
    # `fields` is a Schema attribute: declare it under another name.
    form_fields = ma.fields.Dict(data_key="fields", attribute="fields",
                                 metadata={"description": "POST: form fields to send before the file."})
    file_field = ma.fields.String(metadata={"description": "POST: the form field of the file."})
    headers = ma.fields.Dict(metadata={"description": "PUT: headers to send."})
    expires_in = ma.fields.Integer(metadata={"description": "Seconds the URL stays valid."})


class PresignedFileSchema(ma.Schema):
    file = ma.fields.Nested(FileSchema)
    upload = ma.fields.Nested(UploadTargetSchema)
