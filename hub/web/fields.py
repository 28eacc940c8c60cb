"""marshmallow fields shared by the API's schemas and the real-time events."""
from __future__ import annotations

from datetime import UTC, datetime

import marshmallow as ma


class UTCDateTimeField(ma.fields.DateTime):
    """ISO 8601 in UTC with a `Z`, as docs/API.md says; accepts any offset on input.

    A time whose UTC falls outside years 1-9999 (0001-01-01T00:10+01:00) is a 422,
    unless `clamp` (for filters, where "before the year 1" still means something):
    then it becomes the first or last representable instant.
    """

    def __init__(self, *args, clamp: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.clamp = clamp

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        result = super()._deserialize(value, attr, data, **kwargs)
        if result.tzinfo is None:
            raise self.make_error("invalid", input=value, obj_type="datetime with a time zone")
        try:
            return result.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00:00+23:00 is before year 1 in UTC
            if self.clamp:
                return (datetime.min if result.year == 1 else datetime.max).replace(tzinfo=UTC)
            raise self.make_error("invalid", input=value, obj_type="datetime in years 1-9999 (UTC)") from None


class JSONBoolean(ma.fields.Boolean):
    """A JSON body's boolean: `true` or `false` only.

    marshmallow's Boolean also takes 0, 1, "yes", "on" and the like (and since
    `1 == True`, no truthy set can keep 1 out). Those belong to query strings;
    in a JSON body they are a 422, as the OpenAPI document's `boolean` says.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value
