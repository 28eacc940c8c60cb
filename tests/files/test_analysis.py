"""Looking inside files: CSV rows against a schema, images and their thumbnails."""
from __future__ import annotations

import io

import pytest

from hub.jobs.types import PermanentError
from hub.services.files.analysis import HashingReader, analyse_csv, analyse_image
from tests.files.conftest import jpeg_bytes, png_bytes

SCHEMA = {"header": True, "allow_extra_columns": True, "columns": [
    {"name": "email", "type": "email", "required": True},
    {"name": "age", "type": "integer", "min": 0, "max": 150},
    {"name": "plan", "type": "string", "enum": ["free", "pro"]},
    {"name": "joined", "type": "date"},
]}


def _csv(text: str, schema=None, max_errors: int = 100, encoding: str = "utf-8") -> dict:
    stream = io.TextIOWrapper(io.BytesIO(text.encode(encoding)), encoding=encoding, newline="")
    return analyse_csv(stream, delimiter=",", schema=schema, max_errors=max_errors)


def test_rows_are_checked_against_the_schema():
    found = _csv("email,age,plan,joined,notes\n"
                 "ann@example.com,31,pro,2024-02-29,ok\n"
                 "not-an-email,abc,gold,2024-02-30,\n"
                 ",200,free,,\n"
                 "bob@example.com,40,free,2023-01-01\n"
                 "\n"
                 "cy@example.com,5,free,2020-05-05,\"multi\nline\"\n", SCHEMA)
    assert found["row_count"] == 5 and found["valid_rows"] == 2 and found["invalid_rows"] == 3
    assert found["header"] == ["email", "age", "plan", "joined", "notes"]
    errors = [(e["row"], e["column"], e["error"]) for e in found["row_errors"]]
    assert errors == [
        (3, "email", "not an email address"), (3, "age", "not an integer"),
        (3, "plan", "not one of free, pro"), (3, "joined", "not a date (YYYY-MM-DD)"),
        (4, "email", "a value is required"), (4, "age", "more than 150"),
        (5, None, "expected 5 fields, found 4"),
    ]
    assert found["row_errors"][0]["value"] == "not-an-email"
    assert found["schema_applied"] is True and found["row_errors_truncated"] is False


def test_errors_are_capped_but_all_counted():
    rows = "".join(f"x{i},bad\n" for i in range(50))
    found = _csv("email,age\n" + rows, SCHEMA, max_errors=10)
    assert found["error_count"] == 100 and len(found["row_errors"]) == 10
    assert found["row_errors_truncated"] is True and found["invalid_rows"] == 50


def test_header_problems_are_row_one_errors():
    schema = {"header": True, "allow_extra_columns": False, "columns": [
        {"name": "id", "type": "integer", "required": True}, {"name": "name"}]}
    found = _csv("name,name,extra\na,b,c\n", schema)
    assert {(e["row"], e["column"], e["error"]) for e in found["row_errors"]} == {
        (1, "name", "duplicate column name in the header"),
        (1, "id", "required column missing from the header"),
        (1, "extra", "column not in the schema"),
    }
    assert found["invalid_rows"] == 0  # the data rows themselves are fine


def test_without_header_columns_are_matched_by_position():
    schema = {"header": False, "columns": [{"name": "n", "type": "number"}, {"name": "ok",
                                                                            "type": "boolean"}]}
    found = _csv("1.5,yes\nx,maybe\n3,0,extra\n", schema)
    assert found["header"] is None and found["row_count"] == 3
    assert [(e["row"], e["column"]) for e in found["row_errors"]] == [(2, "n"), (2, "ok"), (3, None)]


def test_without_schema_only_ragged_rows_are_errors():
    found = _csv("a,b\n1,2\n3\n4,5\n")
    assert found["row_count"] == 3 and found["invalid_rows"] == 1 and not found["schema_applied"]


def test_undecodable_csv_is_a_permanent_error():
    stream = io.TextIOWrapper(io.BytesIO(b"a,b\n1,2\n3,\xff\xfe\n"), encoding="utf-8", newline="")
    with pytest.raises(PermanentError) as info:
        analyse_csv(stream, delimiter=",", schema=None, max_errors=10)
    assert info.value.code == "CSV_UNDECODABLE" and "UTF-8" in info.value.message


def test_csv_with_a_giant_field_is_a_permanent_error():
    data = b"a,b\n1,\"" + b"x" * 300_000 + b"\"\n"
    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="")
    with pytest.raises(PermanentError) as info:
        analyse_csv(stream, delimiter=",", schema=None, max_errors=10)
    assert info.value.code == "CSV_INVALID"


def test_image_facts_and_thumbnail():
    facts, thumb = analyse_image(io.BytesIO(jpeg_bytes(1200, 600)), thumbnail_size=200,
                                 max_pixels=10_000_000)
    assert (facts["width"], facts["height"], facts["format"]) == (1200, 600, "JPEG")
    assert (thumb.width, thumb.height, thumb.content_type) == (200, 100, "image/jpeg")
    assert thumb.data.startswith(b"\xff\xd8\xff")


def test_transparent_image_gets_a_png_thumbnail():
    _, thumb = analyse_image(io.BytesIO(png_bytes(300, 300, mode="RGBA")), thumbnail_size=64,
                             max_pixels=10_000_000)
    assert thumb.content_type == "image/png" and (thumb.width, thumb.height) == (64, 64)


def test_truncated_image_is_corrupt():
    data = jpeg_bytes(400, 300)
    with pytest.raises(PermanentError) as info:
        analyse_image(io.BytesIO(data[: len(data) // 2]), thumbnail_size=64, max_pixels=10_000_000)
    assert info.value.code == "IMAGE_CORRUPT"


def test_oversized_image_is_refused_before_decoding():
    with pytest.raises(PermanentError) as info:
        analyse_image(io.BytesIO(png_bytes(2000, 2000)), thumbnail_size=64, max_pixels=1_000_000)
    assert info.value.code == "IMAGE_TOO_LARGE"


def test_hashing_reader_hashes_everything_once_and_replays_the_head():
    import hashlib

    data = bytes(range(256)) * 1000
    seen = []
    reader = HashingReader(io.BytesIO(data), seen.append)
    head = reader.read_head(1000)
    assert head == data[:1000]
    assert io.BufferedReader(reader).read() == data
    assert reader.size == len(data) and reader.sha256.hexdigest() == hashlib.sha256(data).hexdigest()
    assert seen[-1] == len(data)
