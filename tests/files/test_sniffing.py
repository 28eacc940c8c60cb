"""Content sniffing: the bytes decide what a file is, never the name or the client's claim."""
from __future__ import annotations

import gzip
import io
import zipfile

import pytest

from hub.services.files.sniffing import SNIFF_BYTES, sniff
from tests.files.conftest import jpeg_bytes, png_bytes


def _image(fmt: str) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(out, format=fmt)
    return out.getvalue()


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.txt", "hello")
    return out.getvalue()


CASES = [
    ("png", png_bytes(16, 16), "image/png", "image"),
    ("jpeg", jpeg_bytes(16, 16), "image/jpeg", "image"),
    ("gif", _image("GIF"), "image/gif", "image"),
    ("webp", _image("WEBP"), "image/webp", "image"),
    ("pdf", b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "application/pdf", "pdf"),
    ("zip", _zip(), "application/zip", "archive"),
    ("gzip", gzip.compress(b"hello"), "application/gzip", "archive"),
    ("elf", b"\x7fELF\x02\x01\x01" + b"\0" * 60, "application/x-executable", "executable"),
    ("csv", b"name,age,city\nbob,3,Oslo\nalice,4,Rome\n", "text/csv", "csv"),
    ("csv-semicolon", b"a;b\n1;2\n3;4\n", "text/csv", "csv"),
    ("utf16-tsv", "a\tb\n1\t2\n".encode("utf-16"), "text/csv", "csv"),
    ("plain", b"Dear team,\nthe report is attached.\nRegards\n", "text/plain", "text"),
    ("json", b'{"id": 1, "tags": ["a", "b"]}', "application/json", "json"),
    ("json-array", b"[1, 2, 3]\n", "application/json", "json"),
    ("html", b"<!DOCTYPE html>\n<html><body>hi</body></html>", "text/html", "html"),
    ("html-fragment", b"  <script>alert(1)</script>", "text/html", "html"),
    ("svg", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml", "svg"),
    ("shebang-sh", b"#!/bin/sh\necho hi\n", "text/x-shellscript", "script"),
    ("shebang-env-python", b"#!/usr/bin/env python3\nprint('hi')\n", "text/x-python", "script"),
    ("php", b"<?php system($_GET['c']); ?>", "application/x-php", "script"),
    ("php-in-html", b"<html><body><?php echo 1; ?></body></html>", "application/x-php", "script"),
    ("shell-text", b"cd /tmp\nwget http://example.com/x\nchmod +x x\n./x\n", "text/x-shellscript",
     "script"),
    ("curl-pipe-sh", b"curl -fsSL https://example.com/install | sh\n", "text/x-shellscript", "script"),
    ("batch", b"@echo off\r\ndel /q C:\\temp\\*\r\n", "application/x-bat", "script"),
    ("binary", bytes(range(256)) * 4, "application/octet-stream", "binary"),
    ("latin1-not-utf8", "caf\xe9,b\n1,2\n".encode("latin-1"), "application/octet-stream", "binary"),
]


@pytest.mark.parametrize(("name", "data", "content_type", "kind"), CASES, ids=[c[0] for c in CASES])
def test_sniff_recognises_the_bytes(name, data, content_type, kind):
    detected = sniff(data[:SNIFF_BYTES], complete=len(data) <= SNIFF_BYTES)
    assert (detected.content_type, detected.kind) == (content_type, kind)


def test_a_script_is_a_script_even_when_it_looks_like_csv():
    data = b"#!/bin/bash\nname,age\nbob,3\nalice,4\n"
    assert sniff(data, complete=True).content_type == "text/x-shellscript"


def test_prose_with_commas_is_not_csv():
    data = b"Hello, world.\nThis is a letter, not a table.\nSee you soon\n"
    assert sniff(data, complete=True).content_type == "text/plain"


def test_a_character_cut_at_the_end_of_the_head_is_still_text():
    text = ("name,city\n" + "ann,Zürich\n" * 10000).encode()
    head = text[:SNIFF_BYTES]
    while head[-1] & 0xC0 == 0x80 or head[-1] >= 0xC0:  # end inside a multi-byte character
        head = head[:-1]
    head += "ü".encode()[:1]
    detected = sniff(head, complete=False)
    assert detected.content_type == "text/csv" and detected.encoding == "utf-8-sig"


def test_an_image_carrying_php_is_flagged():
    detected = sniff(png_bytes(8, 8) + b"<?php system('id'); ?>", complete=True)
    assert detected.content_type == "image/png"
    assert "contains a PHP opening tag" in detected.warnings


def test_truncated_json_head_is_judged_by_its_start():
    data = b'[{"id": 1, "name": "' + b"x" * SNIFF_BYTES
    assert sniff(data[:SNIFF_BYTES], complete=False).content_type == "application/json"
    assert sniff(b'{"broken": ', complete=True).content_type == "text/plain"


def test_json_nested_past_the_parsers_depth_is_plain_text_not_a_crash():
    """A whole file of 5 000 '[' then ']' raised RecursionError in the worker."""
    small = b"[" * 5_000 + b"]" * 5_000
    assert len(small) <= SNIFF_BYTES
    assert sniff(small, complete=True).content_type == "text/plain"
