"""Files: streamed uploads, direct (presigned) uploads, downloads, deletes.

`POST /files` raises this request's body limit to MAX_UPLOAD_BYTES (the
app-wide MAX_CONTENT_LENGTH stays small for JSON) and streams the multipart
body to storage as it arrives.
"""
from __future__ import annotations

import uuid

import marshmallow as ma
from flask import current_app, redirect, request, send_file, url_for
from flask.views import MethodView

from hub.api.access import auth_required, current_principal
from hub.api.files.idempotency import idempotent_upload
from hub.api.files.multipart import CHUNK_SIZE, OVERHEAD_BYTES, read_upload_form
from hub.api.files.schemas import (
    FileQuerySchema,
    FileSchema,
    PresignedFileSchema,
    PresignSchema,
    UploadFormSchema,
)
from hub.api.idempotency import idempotent
from hub.integrations.storage import content_disposition
from hub.services import files, quotas
from hub.services.files import direct_uploads
from hub.web.envelope import HubBlueprint, set_message, set_pagination
from hub.web.errors import ValidationFailed

blp = HubBlueprint("files", __name__, url_prefix="/files",
                   description="Uploads to object storage, processed by `file.process` jobs.")

UPLOAD_BODY = {"content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"csv_schema": {"type": "string", "description": "JSON text of a CsvSchema; "
                                                                   "form fields go before the file"},
                   "file": {"type": "string", "format": "binary"}}}}}}


def _allow_upload_body() -> None:
    """This request may carry a file up to MAX_UPLOAD_BYTES (plus multipart framing)."""
    request.max_content_length = current_app.config["MAX_UPLOAD_BYTES"] + OVERHEAD_BYTES


def _hub_upload_url(file_id: uuid.UUID, token: str) -> str:
    return url_for("files.FileContent", file_id=file_id, token=token, _external=True)


def _body_chunks():
    stream = request.stream
    while chunk := stream.read(CHUNK_SIZE):
        yield chunk


@blp.route("")
class Files(MethodView):
    @auth_required()
    @idempotent_upload(_allow_upload_body)
    @blp.doc(requestBody=UPLOAD_BODY)
    @blp.response(201, FileSchema)
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE",
                      description="Over MAX_UPLOAD_BYTES (`PAYLOAD_TOO_LARGE`), or over the tenant's "
                                  "storage quota (`QUOTA_EXCEEDED`).")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY",
                      description="No file part, an empty file, a file name that is a path.")
    def post(self):
        """Upload a file (multipart field `file`); it is streamed to storage and processed.

        Form fields (`csv_schema`) must come before the file part.
        """
        p = current_principal()
        quotas.check_job_creation_rate(p.tenant_id)
        _allow_upload_body()
        form = read_upload_form(request)
        try:
            options = UploadFormSchema().load(form.fields)
        except ma.ValidationError as exc:
            raise ValidationFailed("Some form fields are not valid; see details.fields.",
                                   details={"fields": {"form": exc.messages}}) from None
        filename = files.sanitize_filename(form.filename, ("files", "file"))
        file = files.receive_upload(p.tenant_id, p.actor, filename=filename,
                                    declared_type=files.normalize_content_type(form.content_type),
                                    chunks=form.chunks(), csv_schema=options.get("csv_schema"),
                                    before_commit=form.finish)
        set_message("File uploaded; processing is queued.")
        return file

    @auth_required()
    @blp.arguments(FileQuerySchema, location="query")
    @blp.response(200, FileSchema(many=True))
    def get(self, args):
        """The tenant's files, newest first."""
        items, total = files.list_files(current_principal().tenant_id, args["page"], args["per_page"],
                                        args.get("status"))
        set_pagination(args["page"], args["per_page"], total)
        return items


@blp.route("/presign")
class FilePresign(MethodView):
    @auth_required()
    @idempotent
    @blp.arguments(PresignSchema)
    @blp.response(201, PresignedFileSchema)
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE",
                      description="The announced size is over the tenant's storage quota (`QUOTA_EXCEEDED`).")
    def post(self, data):
        """Start a direct upload: where to send the bytes, then call `/complete`.

        On S3 the upload is a presigned POST form straight to the bucket (bound
        to the key, the content type and the exact size). On the local backend
        it is a `PUT` of the raw bytes to a signed hub URL.
        """
        p = current_principal()
        filename = files.sanitize_filename(data["filename"], ("json", "filename"))
        file, upload = direct_uploads.presign_upload(
            p.tenant_id, p.actor, filename=filename,
            content_type=files.normalize_content_type(data["content_type"]), size=data["size"],
            csv_schema=data.get("csv_schema"), hub_upload_url=_hub_upload_url)
        set_message("Upload the bytes to upload.url, then POST /files/{id}/complete.")
        return {"file": file, "upload": upload}


@blp.route("/<uuid:file_id>/content")
class FileContent(MethodView):
    @blp.doc(security=[], parameters=[{
        "in": "query", "name": "token", "required": True,
        "description": "The signed token from /presign's upload.url (about 200 characters).",
        "schema": {"type": "string", "maxLength": 512, "pattern": "^[A-Za-z0-9_.-]+$"}}])
    @blp.response(200, FileSchema)
    @blp.alt_response(403, response="FORBIDDEN", description="The URL is invalid or expired.")
    def put(self, file_id: uuid.UUID):
        """The upload URL of a direct upload on the local backend (from `/presign`).

        Authorised by the signed token in the URL, like a presigned S3 URL.
        """
        request.max_content_length = current_app.config["MAX_UPLOAD_BYTES"]
        set_message("Received; now POST /files/{id}/complete.")
        return direct_uploads.receive_direct_upload(file_id, request.args.get("token", ""), _body_chunks(),
                                           request.headers.get("Content-Type"))


@blp.route("/<uuid:file_id>/complete")
class FileComplete(MethodView):
    @auth_required()
    @idempotent
    @blp.response(202, FileSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="Not uploaded yet, or completed already.")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY", description="The size differs from /presign's.")
    def post(self, file_id: uuid.UUID):
        """After a direct upload: check the object and start processing."""
        p = current_principal()
        quotas.check_job_creation_rate(p.tenant_id)
        set_message("Upload complete; processing is queued.")
        return direct_uploads.complete_upload(p.tenant_id, p.actor, file_id)


@blp.route("/<uuid:file_id>")
class FileById(MethodView):
    @auth_required()
    @blp.response(200, FileSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, file_id: uuid.UUID):
        """One file, with what processing found in `metadata`."""
        return files.get_file(current_principal().tenant_id, file_id)

    @auth_required()
    @blp.response(200)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE", description="Storage is unreachable.")
    def delete(self, file_id: uuid.UUID):
        """Delete the file: its object, its thumbnail and its row."""
        p = current_principal()
        files.delete_file(p.tenant_id, p.actor, file_id)
        set_message("File deleted.")
        return None


def _serve(target: files.Download):
    if target.url is not None:
        response = redirect(target.url, code=302)
    else:
        response = send_file(target.path, mimetype=target.content_type, as_attachment=True,
                             download_name=target.filename, conditional=True,
                             etag=target.etag or True, max_age=0)
        # The same header S3 is asked to send, quoted and with a UTF-8 name.
        response.headers["Content-Disposition"] = content_disposition(target.filename)
    response.headers["Cache-Control"] = "private, no-store" if target.url else "private, max-age=0"
    # Never rendered as a page of ours, whatever the bytes are.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


DOWNLOAD_RESPONSES = {"302": {"description": "S3: redirect to a short-lived URL."},
                      "200": {"description": "Local storage: the bytes, as an attachment, with the "
                                             "sniffed Content-Type (application/octet-stream "
                                             "until processed)."}}


@blp.route("/<uuid:file_id>/download")
class FileDownload(MethodView):
    @auth_required()
    @blp.doc(responses=DOWNLOAD_RESPONSES)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="Not uploaded yet.")
    def get(self, file_id: uuid.UUID):
        """The file: a redirect to a short-lived URL (S3) or the bytes (local)."""
        return _serve(files.download(current_principal().tenant_id, file_id))


@blp.route("/<uuid:file_id>/thumbnail")
class FileThumbnail(MethodView):
    @auth_required()
    @blp.doc(responses=DOWNLOAD_RESPONSES)
    @blp.alt_response(404, response="NOT_FOUND", description="No such file, or no thumbnail.")
    def get(self, file_id: uuid.UUID):
        """An image's thumbnail, like `/download`."""
        return _serve(files.download(current_principal().tenant_id, file_id, thumbnail=True))
