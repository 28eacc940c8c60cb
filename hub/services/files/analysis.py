"""Looking inside a file: image dimensions and thumbnail, CSV rows against a schema.

Plain functions over streams; no database. They raise `PermanentError` for a
file that cannot be what it says (a corrupt image, undecodable CSV), because
another attempt would read the same bytes.
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, BinaryIO

from hub.jobs.types import PermanentError

READ_CHUNK = 256 * 1024
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_INT_RE = re.compile(r"^[+-]?\d+$")
_TRUE, _FALSE = ("true", "yes", "y", "1", "t"), ("false", "no", "n", "0", "f")


class HashingReader(io.RawIOBase):
    """Reads a storage stream once, hashing and counting on the way.

    `on_progress(bytes_read)` is called after each read, so a long read
    reports progress (and meets the job's cancel checkpoints).
    """

    def __init__(self, raw: BinaryIO, on_progress: Callable[[int], None] | None = None) -> None:
        super().__init__()
        self.raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.eof = False
        self._pending = b""  # bytes handed back by `unread`
        self._on_progress = on_progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._pending:
            n = min(len(buffer), len(self._pending))
            buffer[:n] = self._pending[:n]
            self._pending = self._pending[n:]
            return n
        data = self.raw.read(min(len(buffer), READ_CHUNK))
        if not data:
            self.eof = True
            return 0
        self.sha256.update(data)
        self.size += len(data)
        if self._on_progress is not None:
            self._on_progress(self.size)
        buffer[:len(data)] = data
        return len(data)

    def read_head(self, limit: int) -> bytes:
        """Up to `limit` bytes from the start, handed back so later reads see them again."""
        parts, got = [], 0
        while got < limit:
            data = self.read(limit - got)
            if not data:
                break
            parts.append(data)
            got += len(data)
        head = b"".join(parts)
        self._pending = head
        return head

    def drain(self) -> None:
        """Read (and hash) whatever is left."""
        self._pending = b""
        while self.read(READ_CHUNK):
            pass


# --- images ---------------------------------------------------------------------

@dataclass(frozen=True)
class Thumbnail:
    data: bytes
    content_type: str
    width: int
    height: int


def decoded_bytes(mode: str, width: int, height: int) -> int:
    """Memory Pillow needs to hold the image decoded whole: 1 byte a pixel for bilevel,
    greyscale and palette images, 2 for 16-bit greyscale, 4 for everything else (RGB
    is stored as 4 bytes a pixel too)."""
    per_pixel = 1 if mode in ("1", "L", "P") else 2 if mode.startswith("I;16") else 4
    return width * height * per_pixel


def analyse_image(fileobj: BinaryIO, *, thumbnail_size: int, max_pixels: int,
                  max_decode_bytes: int | None = None) -> tuple[dict[str, Any], Thumbnail]:
    """The image's facts and a thumbnail no larger than `thumbnail_size` square.

    Memory stays bounded whatever the file claims: the size is checked from the header
    before any pixel is decoded; a JPEG is decoded reduced (`draft`: the codec scales by
    1/2 to 1/8 while decoding); any other format is decoded whole only if that fits
    `max_decode_bytes`, and is shrunk at once, before orientation and colour conversion,
    so no second full-size copy is ever made.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    broken = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
              Image.DecompressionBombError)
    try:
        with Image.open(fileobj) as img:
            width, height = img.size
            if width * height > max_pixels:
                raise PermanentError(f"The image is {width}x{height} pixels; at most {max_pixels} "
                                     "pixels are processed.", code="IMAGE_TOO_LARGE")
            facts = {"format": img.format, "mode": img.mode,
                     "frames": int(getattr(img, "n_frames", 1) or 1)}
            img.verify()  # structure and checksums, without decoding every pixel
        fileobj.seek(0)
        with Image.open(fileobj) as img:
            box = (2 * thumbnail_size, 2 * thumbnail_size)
            if img.format == "JPEG":
                img.draft(None, box)  # decode at the smallest scale still >= box
            elif max_decode_bytes is not None and decoded_bytes(img.mode, width, height) > max_decode_bytes:
                raise PermanentError(
                    f"The image is {width}x{height} pixels ({img.mode}); decoding it would take "
                    f"{decoded_bytes(img.mode, width, height) // 2**20} MB, more than the "
                    f"{max_decode_bytes // 2**20} MB allowed.", code="IMAGE_TOO_LARGE")
            img.load()  # decoding catches truncated or garbled pixel data
            img.thumbnail(box)  # in place: the full-size pixels are let go here
            oriented = ImageOps.exif_transpose(img)
            if oriented.size != img.size:  # turned a quarter: the picture's sides swap
                width, height = height, width
            facts.update(width=width, height=height, animated=facts["frames"] > 1)
            thumbnail = _thumbnail(oriented, thumbnail_size)
    except PermanentError:
        raise
    except broken as exc:
        raise PermanentError(f"The image could not be decoded: {exc}", code="IMAGE_CORRUPT") from None
    return facts, thumbnail


def _thumbnail(img: Any, size: int) -> Thumbnail:
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    thumb = img.convert("RGBA" if has_alpha else "RGB")
    thumb.thumbnail((size, size))
    out = io.BytesIO()
    if has_alpha:
        thumb.save(out, format="PNG", optimize=True)
        content_type = "image/png"
    else:
        thumb.save(out, format="JPEG", quality=85, optimize=True)
        content_type = "image/jpeg"
    return Thumbnail(out.getvalue(), content_type, thumb.width, thumb.height)


# --- CSV ---------------------------------------------------------------------------

def _check_value(column: dict[str, Any], value: str) -> str | None:
    """Why `value` does not fit `column`, or None."""
    if value == "":
        return "a value is required" if column.get("required") else None
    kind = column.get("type", "string")
    number: float | None = None
    if kind == "integer":
        if not _INT_RE.match(value.strip()):
            return "not an integer"
        number = int(value)
    elif kind == "number":
        try:
            number = float(value)
        except ValueError:
            return "not a number"
        if not math.isfinite(number):
            return "not a finite number"
    elif kind == "boolean" and value.strip().lower() not in _TRUE + _FALSE:
        return "not a boolean (true/false, yes/no, 1/0)"
    elif kind == "date":
        try:
            date.fromisoformat(value.strip())
        except ValueError:
            return "not a date (YYYY-MM-DD)"
    elif kind == "datetime":
        try:
            datetime.fromisoformat(value.strip())
        except ValueError:
            return "not an ISO 8601 date-time"
    elif kind == "email" and not _EMAIL_RE.match(value.strip()):
        return "not an email address"
    if number is not None:
        if "min" in column and number < column["min"]:
            return f"less than {column['min']:g}"
        if "max" in column and number > column["max"]:
            return f"more than {column['max']:g}"
    if "enum" in column and value not in column["enum"]:
        return "not one of " + ", ".join(column["enum"][:10])
    if "max_length" in column and len(value) > column["max_length"]:
        return f"longer than {column['max_length']} characters"
    return None


class _Errors:
    """Counts every error, keeps the first `cap`."""

    def __init__(self, cap: int) -> None:
        self.cap, self.count, self.kept, self.rows = cap, 0, [], set()

    def add(self, row: int, message: str, column: str | None = None, value: str | None = None) -> None:
        self.count += 1
        self.rows.add(row)
        if len(self.kept) < self.cap:
            error: dict[str, Any] = {"row": row, "column": column, "error": message}
            if value is not None:
                error["value"] = value[:100]
            self.kept.append(error)


def analyse_csv(text: io.TextIOBase, *, delimiter: str, schema: dict[str, Any] | None,
                max_errors: int) -> dict[str, Any]:
    """Row counts and row errors of a CSV read as a stream (one row in memory).

    Rows are numbered as a spreadsheet shows them: the header is row 1.
    Without a schema only rows whose field count differs from the header's
    are errors; with one, every value is checked against its column.
    """
    schema = schema or {}
    has_header = schema.get("header", True)
    columns = schema.get("columns", [])
    errors = _Errors(max_errors)
    reader = csv.reader(text, delimiter=schema.get("delimiter") or delimiter)
    header: list[str] | None = None
    positions: list[tuple[int, dict[str, Any]]] = []  # (field index, column) to check
    width: int | None = None
    rows = 0
    try:
        for number, row in enumerate(reader, start=1):
            if not row or row == [""]:
                continue  # blank line
            if width is None:
                width = len(row)
                if has_header:
                    header = [name.strip() for name in row]
                    positions = _header_positions(header, schema, errors)
                    continue
                positions = list(enumerate(columns))
                if columns:
                    width = len(columns)
            rows += 1
            if len(row) != width:
                errors.add(number, f"expected {width} fields, found {len(row)}")
                continue
            for index, column in positions:
                problem = _check_value(column, row[index])
                if problem:
                    errors.add(number, problem, column["name"], row[index])
    except UnicodeDecodeError as exc:
        raise PermanentError(f"The CSV is not valid {_codec(text)} text near row {rows + 1}: "
                             f"{exc.reason}.", code="CSV_UNDECODABLE") from None
    except csv.Error as exc:
        raise PermanentError(f"The CSV cannot be parsed near row {rows + 1}: {exc}.",
                             code="CSV_INVALID") from None
    data_errors = len(errors.rows - {1}) if has_header else len(errors.rows)
    return {
        "delimiter": schema.get("delimiter") or delimiter,
        "header": header[:100] if header is not None else None,
        "column_count": width or 0,
        "row_count": rows,
        "valid_rows": rows - data_errors,
        "invalid_rows": data_errors,
        "error_count": errors.count,
        "row_errors": errors.kept,
        "row_errors_truncated": errors.count > len(errors.kept),
        "schema_applied": bool(columns),
    }


def _header_positions(header: list[str], schema: dict[str, Any],
                      errors: _Errors) -> list[tuple[int, dict[str, Any]]]:
    """Map declared columns to header positions; header problems are row-1 errors."""
    seen: set[str] = set()
    for name in header:
        if name in seen:
            errors.add(1, "duplicate column name in the header", name)
        seen.add(name)
    positions = []
    declared = {column["name"] for column in schema.get("columns", [])}
    for column in schema.get("columns", []):
        if column["name"] in header:
            positions.append((header.index(column["name"]), column))
        elif column.get("required"):
            errors.add(1, "required column missing from the header", column["name"])
    if declared and not schema.get("allow_extra_columns", True):
        for name in header:
            if name not in declared:
                errors.add(1, "column not in the schema", name)
    return positions


def _codec(text: io.TextIOBase) -> str:
    encoding = getattr(text, "encoding", "utf-8") or "utf-8"
    return "UTF-16" if "16" in encoding else "UTF-8"
