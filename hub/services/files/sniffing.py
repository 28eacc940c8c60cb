"""What a file really is, from its first bytes; the client's claim is not trusted.

`sniff(head, complete)` looks at the first `SNIFF_BYTES` of a file (the whole
file when `complete`) and returns its content type and a `kind` that decides
how the file is processed. Binary formats are told by their magic numbers;
text is decoded (UTF-8, or UTF-16 with a byte-order mark) and classified:
scripts (a shebang, PHP, shell commands, batch files) first, so a script that
also looks like something harmless is reported as the script it is; then
HTML, SVG/XML, JSON, CSV, and plain text.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import re
import struct
from dataclasses import dataclass, field

SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class Detected:
    content_type: str
    kind: str  # image, pdf, archive, executable, binary, script, html, xml, svg, json, csv, text
    description: str
    encoding: str | None = None     # text kinds: the codec to read it with
    delimiter: str | None = None    # csv: the field separator found
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_text(self) -> bool:
        return self.encoding is not None


def _webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def _bmp(head: bytes) -> bool:
    # "BM" alone is too weak (text can start so): the DIB header size must be a known one.
    return head[:2] == b"BM" and len(head) >= 18 and struct.unpack("<I", head[14:18])[0] in (
        12, 40, 52, 56, 64, 108, 124)


def _pe(head: bytes) -> bool:
    if head[:2] != b"MZ" or len(head) < 64:
        return False
    offset = struct.unpack("<I", head[60:64])[0]
    return head[offset:offset + 4] == b"PE\0\0"


def _tar(head: bytes) -> bool:
    return head[257:262] == b"ustar"


# (test, content type, kind, description), first match wins.
_MAGIC = (
    (lambda h: h.startswith(b"\x89PNG\r\n\x1a\n"), "image/png", "image", "PNG image"),
    (lambda h: h.startswith(b"\xff\xd8\xff"), "image/jpeg", "image", "JPEG image"),
    (lambda h: h[:6] in (b"GIF87a", b"GIF89a"), "image/gif", "image", "GIF image"),
    (_webp, "image/webp", "image", "WebP image"),
    (lambda h: h[:4] in (b"II*\0", b"MM\0*"), "image/tiff", "image", "TIFF image"),
    (_bmp, "image/bmp", "image", "BMP image"),
    (lambda h: b"%PDF-" in h[:1024], "application/pdf", "pdf", "PDF document"),
    (lambda h: h[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"), "application/zip",
     "archive", "ZIP archive"),
    (lambda h: h.startswith(b"\x1f\x8b"), "application/gzip", "archive", "gzip data"),
    (lambda h: h.startswith(b"BZh"), "application/x-bzip2", "archive", "bzip2 data"),
    (lambda h: h.startswith(b"\xfd7zXZ\x00"), "application/x-xz", "archive", "xz data"),
    (lambda h: h.startswith(b"7z\xbc\xaf\x27\x1c"), "application/x-7z-compressed", "archive",
     "7-Zip archive"),
    (_tar, "application/x-tar", "archive", "tar archive"),
    (lambda h: h.startswith(b"\x7fELF"), "application/x-executable", "executable", "ELF executable"),
    (_pe, "application/vnd.microsoft.portable-executable", "executable", "Windows executable"),
)

_INTERPRETERS = {
    "sh": "text/x-shellscript", "bash": "text/x-shellscript", "dash": "text/x-shellscript",
    "zsh": "text/x-shellscript", "ksh": "text/x-shellscript", "ash": "text/x-shellscript",
    "python": "text/x-python", "perl": "text/x-perl", "ruby": "text/x-ruby",
    "node": "text/javascript", "php": "application/x-php", "lua": "text/x-lua",
}

# The WHATWG MIME sniffing spec's HTML openers (followed by a space or '>').
_HTML_OPENERS = ("<!doctype html", "<html", "<head", "<script", "<iframe", "<h1", "<div", "<font",
                 "<table", "<a", "<style", "<title", "<b", "<body", "<br", "<p", "<!--")

# A line that reads like a shell command. One strong sign or two ordinary ones make a script.
_SHELL_STRONG = re.compile(
    r"^\s*(?:(?:curl|wget)\b[^\n]*\|\s*(?:ba|z|da)?sh\b|rm\s+-[a-z]*[rf][a-z]*\s+/|"
    r"chmod\s+[+0-7][^\n]*|nc\s+-[a-z]*e\b|/dev/tcp/)", re.MULTILINE)
_SHELL_LINE = re.compile(
    r"^\s*(?:(?:sudo|export|echo|printf|cd|rm|mv|cp|mkdir|chmod|chown|curl|wget|apt-get|yum|source|"
    r"exec|eval|trap|nohup|kill)\s+\S|(?:then|else|fi|done|do|esac)\s*(?:;|$)|"
    r"(?:if|while|until)\s+!?\s*\[|for\s+\w+\s+in\s|case\s+\S+\s+in\b|exit\s+\d+\s*$|"
    r"set\s+-[a-z]+\s*$|\w+\s*\(\)\s*\{)", re.MULTILINE)
_JSON_START = re.compile(r'^\s*(?:\{\s*(?:"|\})|\[\s*(?:[\[{"\-0-9\]]|true|false|null))')
_CSV_DELIMITERS = (",", ";", "\t", "|")


def sniff(head: bytes, complete: bool) -> Detected:
    """The content type of a file whose first bytes are `head` (all of it if `complete`)."""
    for test, content_type, kind, description in _MAGIC:
        if test(head):
            return Detected(content_type, kind, description, warnings=_embedded_code(head))
    decoded = _decode_text(head, complete)
    if decoded is None:
        return Detected("application/octet-stream", "binary", "binary data")
    text, encoding = decoded
    return _classify_text(text, encoding, complete)


def _embedded_code(head: bytes) -> tuple[str, ...]:
    """Code hidden in an otherwise valid binary (an image that is also a PHP page)."""
    lower = head.lower()
    found = []
    if b"<?php" in lower:
        found.append("contains a PHP opening tag")
    if b"<script" in lower:
        found.append("contains an HTML <script> tag")
    return tuple(found)


def _decode_text(head: bytes, complete: bool) -> tuple[str, str] | None:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, data = "utf-16", head
    elif b"\x00" in head:
        return None
    else:
        encoding, data = "utf-8-sig", head
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        # Not final unless complete: a character cut at the end of the head is fine.
        text = decoder.decode(data, final=complete)
    except UnicodeDecodeError:
        return None
    if not text.strip():
        return (text, encoding) if text else None
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f\v\x1b")
    if controls > len(text) / 100:
        return None
    return text, encoding


def _classify_text(text: str, encoding: str, complete: bool) -> Detected:
    stripped = text.lstrip()
    lower = stripped[:4096].lower()

    def found(content_type: str, kind: str, description: str, **kw: str) -> Detected:
        return Detected(content_type, kind, description, encoding=encoding, **kw)

    if stripped.startswith("#!"):
        return found(_shebang_type(stripped.split("\n", 1)[0]), "script", "script (shebang)")
    if "<?php" in text.lower() or stripped.startswith("<?="):
        return found("application/x-php", "script", "PHP script")
    if any(lower.startswith(tag) and lower[len(tag):len(tag) + 1] in (" ", ">", "\t", "\n", "\r", "")
           for tag in _HTML_OPENERS):
        return found("text/html", "html", "HTML document")
    if lower.startswith("<svg") or (lower.startswith("<?xml") and "<svg" in lower):
        return found("image/svg+xml", "svg", "SVG image (XML)")
    if lower.startswith("<?xml"):
        return found("application/xml", "xml", "XML document")
    if _looks_like_json(stripped, complete):
        return found("application/json", "json", "JSON document")
    if lower.startswith("@echo off") or lower.startswith("@echo on"):
        return found("application/x-bat", "script", "Windows batch script")
    if _SHELL_STRONG.search(text) or len(_SHELL_LINE.findall(text[:16384])) >= 2:
        return found("text/x-shellscript", "script", "shell commands")
    delimiter = _csv_delimiter(text, complete)
    if delimiter:
        return found("text/csv", "csv", "CSV text", delimiter=delimiter)
    return found("text/plain", "text", "plain text")


def _shebang_type(line: str) -> str:
    words = line[2:].strip().split()
    if not words:
        return "text/x-shellscript"
    program = words[0].rsplit("/", 1)[-1]
    if program == "env":
        program = next((w for w in words[1:] if not w.startswith("-") and "=" not in w), "")
    program = re.sub(r"[0-9.]+$", "", program)  # python3.12 -> python
    return _INTERPRETERS.get(program, "text/x-script")


def _looks_like_json(text: str, complete: bool) -> bool:
    if not text or text[0] not in "{[":
        return False
    if complete:
        try:
            json.loads(text)
            return True
        except (ValueError, RecursionError):  # nested past the parser's depth: call it text
            return False
    return bool(_JSON_START.match(text))


def _csv_delimiter(text: str, complete: bool) -> str | None:
    """The delimiter if the rows split into the header's number of fields (at least 2).

    Prose has commas too, so: nearly every row must agree (all of them in a
    short sample), and fields after a comma must not mostly start with a
    space, as clauses in a sentence do.
    """
    lines = text.splitlines()
    if not complete and lines:
        lines = lines[:-1]  # the last line may be cut
    sample = "\n".join(line for line in lines[:200] if line.strip())
    best: tuple[int, str] | None = None
    for delimiter in _CSV_DELIMITERS:
        try:
            rows = list(csv.reader(io.StringIO(sample), delimiter=delimiter))
        except csv.Error:
            continue
        if len(rows) < 2 or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        matching = sum(1 for row in rows if len(row) == width)
        if matching / len(rows) < (1.0 if len(rows) < 5 else 0.9):
            continue
        later = [field for row in rows for field in row[1:]]
        if delimiter == "," and sum(f.startswith(" ") for f in later) > len(later) / 2:
            continue
        if best is None or width > best[0]:
            best = (width, delimiter)
    return best[1] if best else None


# Declared types that mean "this is a CSV": the client's word decides only whether
# plain text is parsed as a one-column CSV, never what the bytes are.
CSV_DECLARED = ("text/csv", "application/csv", "text/comma-separated-values", "application/vnd.ms-excel")
