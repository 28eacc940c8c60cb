"""Reading a multipart/form-data body as it arrives, without spooling it.

Werkzeug's form parser would write a large file part to a temporary file
before the view sees it; here the view gets the file part as an iterator of
chunks straight off the socket (werkzeug's sans-IO `MultipartDecoder`), so an
upload flows to storage with memory bounded by one chunk.

Form fields must come before the file part (as S3's browser uploads ask):
they are known, and validated, before a byte is stored.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import NEED_DATA, Data, Epilogue, Field, MultipartDecoder
from werkzeug.sansio.multipart import File as FilePart

from hub.web.errors import BadRequest, ValidationFailed

CHUNK_SIZE = 64 * 1024
# RFC 2046's boundary characters, not ending in a space. RFC 2046 caps the length at
# 70, but clients exceed it (Werkzeug's own test client, now and then): up to 200.
MAX_BOUNDARY = 200
BOUNDARY_RE = re.compile(rf"[0-9A-Za-z'()+_,\-./:=? ]{{0,{MAX_BOUNDARY - 1}}}[0-9A-Za-z'()+_,\-./:=?]")
MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 20
# Room for part headers and boundaries around the file itself.
OVERHEAD_BYTES = MAX_PARTS * (MAX_FIELD_BYTES + 1024)


@dataclass
class UploadForm:
    """The fields before the file, the file part, and a check of what follows."""

    fields: dict[str, str]
    filename: str | None
    content_type: str | None
    reader: MultipartReader = field(repr=False)

    def chunks(self) -> Iterator[bytes]:
        return self.reader.data()

    def finish(self) -> None:
        """The rest of the body must hold no other part."""
        part = self.reader.next_part()
        if isinstance(part, Field):
            raise ValidationFailed(
                f"Form fields go before the file: send {part.name!r} first, then the 'file' part "
                "(the upload is stored as it arrives, after its fields are checked).",
                details={"fields": {"form": {part.name: ["must come before the file part"]}}})
        if part is not None:
            raise ValidationFailed("Send one file per request; this one has a second file part "
                                   f"{part.name!r}.",
                                   details={"fields": {"files": {part.name: ["only one file per request"]}}})


class MultipartReader:
    """Parts of a multipart body, in order; a part's data must be read before the next."""

    def __init__(self, stream: IO[bytes], boundary: bytes) -> None:
        self.stream = stream
        # The decoder buffers only up to a chunk and a boundary while in a part's
        # data; the cap bounds part headers that never end.
        self.decoder = MultipartDecoder(boundary, max_form_memory_size=2 * CHUNK_SIZE + 4096,
                                        max_parts=MAX_PARTS)
        self._in_part = False
        self._done = False

    def _event(self):
        while True:
            try:
                event = self.decoder.next_event()
            except ValueError:
                raise BadRequest("The multipart body is malformed or was cut short.") from None
            if event is not NEED_DATA:
                return event
            # Past request.max_content_length this raises 413 (werkzeug's LimitedStream).
            chunk = self.stream.read(CHUNK_SIZE)
            try:
                self.decoder.receive_data(chunk or None)
            except RequestEntityTooLarge:
                raise BadRequest("The multipart body has over-long part headers.") from None

    def next_part(self) -> Field | FilePart | None:
        """The next part's header event, skipping what is left of the current one."""
        for _ in self.data():
            pass
        while not self._done:
            event = self._event()
            if isinstance(event, (Field, FilePart)):
                self._in_part = True
                return event
            if isinstance(event, Epilogue):
                self._done = True
        return None

    def data(self) -> Iterator[bytes]:
        """The current part's bytes, as they arrive."""
        while self._in_part:
            event = self._event()
            if not isinstance(event, Data):
                raise BadRequest("The multipart body is malformed.")
            if not event.more_data:
                self._in_part = False
            if event.data:
                yield event.data

    def read_field(self, limit: int = MAX_FIELD_BYTES) -> str:
        value = bytearray()
        for chunk in self.data():
            value += chunk
            if len(value) > limit:
                raise ValidationFailed(f"A form field is longer than {limit} bytes.")
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed("Form fields must be UTF-8 text.") from None


def read_upload_form(request: Request, file_field: str = "file") -> UploadForm:
    """Read the fields up to the file part; the file's data is left on the wire."""
    mimetype, options = parse_options_header(request.headers.get("Content-Type", ""))
    boundary = options.get("boundary", "")
    if mimetype != "multipart/form-data" or not boundary:
        raise BadRequest("Send the file as multipart/form-data with a 'file' part.")
    if not BOUNDARY_RE.fullmatch(boundary):
        # e.g. `boundary*=UTF-8''%E2%82%AC`, which decodes to text no body can delimit with.
        raise BadRequest(f"The multipart boundary is not valid: 1-{MAX_BOUNDARY} ASCII letters, "
                         "digits and '()+_,-./:=? (RFC 2046's characters).")
    reader = MultipartReader(request.stream, boundary.encode("latin-1"))
    fields: dict[str, str] = {}
    while (part := reader.next_part()) is not None:
        if isinstance(part, FilePart):
            if part.name != file_field:
                raise ValidationFailed(f"Unexpected file part {part.name!r}; send the file as "
                                       f"{file_field!r}.",
                                       details={"fields": {"files": {part.name: ["unexpected file"]}}})
            return UploadForm(fields, part.filename, part.headers.get("Content-Type"), reader)
        if part.name in fields:
            raise ValidationFailed(f"The form field {part.name!r} is sent twice.")
        fields[part.name] = reader.read_field()
    raise ValidationFailed("No file: send it as the multipart part 'file'.",
                           details={"fields": {"files": {file_field: ["Missing data for required field."]}}})
