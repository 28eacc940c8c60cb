"""`flask hub init-storage` (docker-compose's one-shot `storage-init`) against an S3 API over HTTP."""
from __future__ import annotations

import uuid

from hub import create_app


def test_init_storage_creates_the_bucket_and_its_cors_rule_once(base_config, moto_endpoint):
    bucket = f"hub-init-{uuid.uuid4().hex[:8]}"
    app = create_app({**base_config, "STORAGE_BACKEND": "s3", "S3_BUCKET": bucket,
                      "S3_ENDPOINT_URL": moto_endpoint, "S3_REGION": "us-east-1",
                      "S3_ACCESS_KEY_ID": "testing", "S3_SECRET_ACCESS_KEY": "testing",
                      "CORS_ORIGINS": "https://app.example.com, http://localhost:3000/"})
    runner = app.test_cli_runner()
    first = runner.invoke(args=["hub", "init-storage", "--origin", "http://localhost:5000"])
    assert first.exit_code == 0, first.output
    assert f"bucket {bucket}: created" in first.output
    assert "CORS: http://localhost:5000, https://app.example.com, http://localhost:3000 may upload" \
        in first.output
    with app.app_context():
        from hub.services.files import current_storage

        client = current_storage().client  # type: ignore[attr-defined]
        (rule,) = client.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert rule["AllowedOrigins"] == ["http://localhost:5000", "https://app.example.com",
                                      "http://localhost:3000"]
    assert {"POST", "PUT", "GET"} <= set(rule["AllowedMethods"])
    assert rule["AllowedHeaders"] == ["*"] and rule["ExposeHeaders"] == ["ETag"]
    # Run again (every `docker compose up`): nothing breaks, nothing is lost.
    client.put_object(Bucket=bucket, Key="kept", Body=b"x")
    again = runner.invoke(args=["hub", "init-storage", "--origin", "http://localhost:5000"])
    assert again.exit_code == 0 and f"bucket {bucket}: exists" in again.output
    assert client.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"x"


def test_init_storage_on_the_local_backend_has_nothing_to_do(app):
    result = app.test_cli_runner().invoke(args=["hub", "init-storage"])
    assert result.exit_code == 0 and "no bucket to create" in result.output
