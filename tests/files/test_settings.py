"""File storage settings: refused at start when they cannot work."""
from __future__ import annotations

import pytest

from hub.config import ConfigError, check_config, load_config
from tests.support.helpers import PRODUCTION_SETTINGS

PRODUCTION = PRODUCTION_SETTINGS


@pytest.mark.parametrize(("overrides", "message"), [
    ({"STORAGE_BACKEND": "ftp"}, "STORAGE_BACKEND"),
    ({"STORAGE_BACKEND": "s3"}, "S3_BUCKET"),
    ({"S3_PART_SIZE": "1048576"}, "S3_PART_SIZE"),
    ({"S3_ADDRESSING_STYLE": "sideways"}, "S3_ADDRESSING_STYLE"),
    ({"S3_ACCESS_KEY_ID": "only-half"}, "S3_SECRET_ACCESS_KEY"),
    ({"MAX_UPLOAD_BYTES": "0"}, "MAX_UPLOAD_BYTES"),
])
@pytest.mark.parametrize("env", ["production", "development"])
def test_storage_settings_that_cannot_work_are_refused(overrides, message, env):
    with pytest.raises(ConfigError, match=message):
        check_config(load_config(environ={**PRODUCTION, "HUB_ENV": env, **overrides}))


def test_production_s3_with_a_bucket_is_accepted():
    cfg = load_config(environ={**PRODUCTION, "STORAGE_BACKEND": "s3", "S3_BUCKET": "hub-files"})
    check_config(cfg)
    # Uploads have their own limit, far above the JSON body limit.
    assert cfg["MAX_UPLOAD_BYTES"] > cfg["MAX_CONTENT_LENGTH"]
    assert cfg["STORAGE_LOCAL_ROOT"] == "instance/storage"
