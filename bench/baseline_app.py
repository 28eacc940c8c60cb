"""Baselines for bench/upload_memory.py: the same upload, received the usual ways.

`/read-all` reads the whole body into memory (`request.get_data()`), as code
does that forwards a body to S3 in one `put_object`; `/form` lets werkzeug's
form parser spool the file part to a temporary file (`request.files`) and
copies it on. Served by gunicorn with the hub's flags, side by side with it.
"""
from __future__ import annotations

import hashlib
import shutil
import tempfile

from flask import Flask, request

app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = None


@app.post("/read-all")
def read_all():
    body = request.get_data()
    return {"size": len(body), "sha256": hashlib.sha256(body).hexdigest()}


@app.post("/form")
def form():
    upload = request.files["file"]
    with tempfile.TemporaryFile() as target:
        shutil.copyfileobj(upload.stream, target, 1024 * 1024)
        return {"size": target.tell()}
