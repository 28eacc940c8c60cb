"""The S3 backend: one bucket of any S3-compatible endpoint, through boto3."""
from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from hub.integrations.storage.base import (
    ObjectInfo,
    ObjectNotFound,
    StorageError,
    WriterBase,
    check_key,
    content_disposition,
)
from hub.telemetry import integration_call

log = logging.getLogger(__name__)


class S3Storage:
    """Objects in one bucket of any S3-compatible endpoint (boto3)."""

    backend = "s3"

    def __init__(self, bucket: str, *, endpoint_url: str | None = None, region: str | None = None,
                 access_key_id: str | None = None, secret_access_key: str | None = None,
                 addressing_style: str = "auto", part_size: int = 8 * 1024 * 1024,
                 public_endpoint_url: str | None = None) -> None:
        self.bucket = bucket
        self.part_size = part_size
        self._client_args = dict(endpoint_url=endpoint_url or None, region_name=region or None,
                                 aws_access_key_id=access_key_id or None,
                                 aws_secret_access_key=secret_access_key or None)
        # Browsers may reach the storage by another name than the hub does
        # (http://minio:9000 inside, https://files.example.com outside): URLs
        # handed to clients are signed for that name.
        self._public_endpoint_url = public_endpoint_url or None
        self._addressing_style = addressing_style
        self._client: Any = None
        self._public_client: Any = None
        self._lock = threading.Lock()

    def _make_client(self, endpoint_url: str | None) -> Any:
        import boto3
        from botocore.config import Config

        config = Config(signature_version="s3v4", connect_timeout=5, read_timeout=60,
                        retries={"max_attempts": 3, "mode": "standard"},
                        s3={"addressing_style": self._addressing_style})
        return boto3.session.Session().client("s3", config=config,
                                              **{**self._client_args, "endpoint_url": endpoint_url})

    @property
    def client(self) -> Any:
        """The boto3 client, made on first use (boto3 clients are thread-safe)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make_client(self._client_args["endpoint_url"])
        return self._client

    @property
    def signer(self) -> Any:
        """The client that signs URLs for browsers (signing makes no request)."""
        if self._public_endpoint_url is None:
            return self.client
        if self._public_client is None:
            with self._lock:
                if self._public_client is None:
                    self._public_client = self._make_client(self._public_endpoint_url)
        return self._public_client

    def _call(self, what: str, fn: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        with integration_call("s3", what, **{"aws.s3.bucket": self.bucket}) as call:
            try:
                return fn(Bucket=self.bucket, **kwargs)
            except ClientError as exc:
                error = exc.response.get("Error", {})
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                # HEAD answers a bare 404 (no body), so a missing bucket looks the same
                # there; get/delete name it (NoSuchBucket) and land below.
                if "Key" in kwargs and error.get("Code") in ("NoSuchKey", "404", "NotFound"):
                    call.outcome = "ok"  # an answer: the object is not there
                    raise ObjectNotFound(kwargs["Key"]) from None
                call.answered(int(status or 500))
                raise StorageError(f"S3 {what} failed: {error.get('Code', status)}") from exc
            except BotoCoreError as exc:
                call.outcome = "error"
                raise StorageError(f"S3 {what} failed: {exc}") from exc

    def writer(self, key: str, content_type: str | None = None) -> _S3Writer:
        return _S3Writer(self, check_key(key), content_type or "application/octet-stream")

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        self._call("put", self.client.put_object, Key=check_key(key), Body=data,
                   ContentType=content_type or "application/octet-stream")

    def open(self, key: str) -> BinaryIO:
        return _S3Body(self._call("get", self.client.get_object, Key=check_key(key))["Body"])

    def head(self, key: str) -> ObjectInfo | None:
        try:
            meta = self._call("head", self.client.head_object, Key=check_key(key))
        except ObjectNotFound:
            return None
        return ObjectInfo(key=key, size=int(meta["ContentLength"]), content_type=meta.get("ContentType"))

    def delete(self, *keys: str) -> None:
        for key in keys:
            self._call("delete", self.client.delete_object, Key=check_key(key))

    def purge_incomplete(self, prefix: str, older_than: float) -> int:
        """Abort multipart uploads under `prefix` begun more than `older_than` seconds ago.

        An API process killed mid-upload leaves one behind (billed, invisible);
        a bucket lifecycle rule for incomplete uploads does the same job.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        cutoff = datetime.now(UTC) - timedelta(seconds=older_than)
        aborted = 0
        paginator = self.client.get_paginator("list_multipart_uploads")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] < cutoff:
                        self._call("abort multipart upload", self.client.abort_multipart_upload,
                                   Key=upload["Key"], UploadId=upload["UploadId"])
                        aborted += 1
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"S3 list multipart uploads failed: {exc}") from exc
        return aborted

    def ensure_bucket(self, region: str | None, cors_origins: list[str]) -> dict[str, Any]:
        """Create the bucket if it is missing and set the CORS rule browsers need for direct
        uploads (the presigned POST) and downloads from `cors_origins`. Safe to run again.

        Returns what was done: `{"created": bool, "cors": "set" | "unsupported" | "none"}`;
        "unsupported" is a server without bucket CORS rules (some MinIO releases, which
        then answer every origin themselves: MINIO_API_CORS_ALLOW_ORIGIN).
        """
        from botocore.exceptions import ClientError

        created = False
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                raise StorageError(f"S3 head bucket failed: {exc}") from exc
            location = {} if region in (None, "", "us-east-1") else {
                "CreateBucketConfiguration": {"LocationConstraint": region}}
            self._call("create bucket", self.client.create_bucket, **location)
            created = True
        if not cors_origins:
            return {"created": created, "cors": "none"}
        rule = {"AllowedOrigins": cors_origins, "AllowedMethods": ["GET", "HEAD", "POST", "PUT"],
                "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600}
        try:
            self.client.put_bucket_cors(Bucket=self.bucket, CORSConfiguration={"CORSRules": [rule]})
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NotImplemented":
                return {"created": created, "cors": "unsupported"}
            raise StorageError(f"S3 put bucket CORS failed: {exc}") from exc
        return {"created": created, "cors": "set"}

    def download_url(self, key: str, *, filename: str, content_type: str, expires: int) -> str:
        # Signing is local (no request), so it cannot fail for network reasons.
        return self.signer.generate_presigned_url("get_object", ExpiresIn=expires, Params={
            "Bucket": self.bucket, "Key": check_key(key), "ResponseContentType": content_type,
            "ResponseContentDisposition": content_disposition(filename)})

    def upload_form(self, key: str, *, content_type: str, size: int, expires: int) -> dict[str, Any]:
        """A presigned POST (browser form upload) bound to this key, type and exact size."""
        post = self.signer.generate_presigned_post(
            self.bucket, check_key(key), Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", size, size]],
            ExpiresIn=expires)
        return {"url": post["url"], "method": "POST", "fields": post["fields"],
                "file_field": "file"}


class _S3Body:
    """A GET's body whose read errors (reset, timeout) are StorageError like the rest."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def read(self, size: int = -1) -> bytes:
        from botocore.exceptions import BotoCoreError
        from urllib3.exceptions import HTTPError

        try:
            return self._body.read(None if size is None or size < 0 else size)
        except (BotoCoreError, HTTPError, OSError) as exc:
            raise StorageError(f"S3 read failed: {exc}") from exc

    def close(self) -> None:
        self._body.close()

    def __enter__(self) -> _S3Body:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _S3Writer(WriterBase):
    """Buffers one part at a time; small objects are a single PUT."""

    def __init__(self, storage: S3Storage, key: str, content_type: str) -> None:
        self.storage, self.key, self.content_type = storage, key, content_type
        self.buffer = bytearray()
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []
        self.written = 0

    def write(self, data: bytes) -> None:
        self.buffer += data
        self.written += len(data)
        if len(self.buffer) >= self.storage.part_size:
            self._upload_part()

    def _upload_part(self) -> None:
        # The whole buffer is the part (parts need not be equal, only >= 5 MiB
        # but the last): handing it over as is copies nothing.
        s3 = self.storage
        if self.upload_id is None:
            self.upload_id = s3._call("start multipart upload", s3.client.create_multipart_upload,
                                      Key=self.key, ContentType=self.content_type)["UploadId"]
        body, self.buffer = self.buffer, bytearray()
        number = len(self.parts) + 1
        reply = s3._call("upload part", s3.client.upload_part, Key=self.key, UploadId=self.upload_id,
                         PartNumber=number, Body=body)
        self.parts.append({"PartNumber": number, "ETag": reply["ETag"]})

    def commit(self) -> int:
        s3 = self.storage
        try:
            if self.upload_id is None:
                s3._call("put", s3.client.put_object, Key=self.key, Body=bytes(self.buffer),
                         ContentType=self.content_type)
            else:
                if self.buffer:
                    self._upload_part()
                s3._call("complete multipart upload", s3.client.complete_multipart_upload,
                         Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts})
        except BaseException:
            self.abort()
            raise
        self._done = True
        self.buffer = bytearray()
        return self.written

    def abort(self) -> None:
        self._done = True
        self.buffer = bytearray()
        if self.upload_id is not None:
            upload_id, self.upload_id = self.upload_id, None
            try:
                self.storage._call("abort multipart upload", self.storage.client.abort_multipart_upload,
                                   Key=self.key, UploadId=upload_id)
            except StorageError as exc:
                # The bucket's lifecycle rule for incomplete uploads is the backstop.
                log.warning("could not abort multipart upload of %s: %s", self.key, exc)
