"""Images cannot blow up a worker's memory: a 7000x7000 PNG of a few
hundred KB raised a worker by 750 MB. Measured in a fresh process, as bench/image_memory.py
does, with the default settings."""
from __future__ import annotations

import io

import pytest

from bench.image_memory import make_image, measure
from hub.jobs.types import PermanentError
from hub.services.files.analysis import analyse_image
from tests.files.conftest import png_bytes

LIMIT_KIB = 100 * 1024


@pytest.mark.parametrize("fmt, mode, side, outcome", [
    ("PNG", "RGB", 7000, "IMAGE_TOO_LARGE"),        # the reported image: refused before decoding
    ("PNG", "L", 7000, "thumbnail of 7000x7000"),   # 49 MB decoded, then shrunk in place
    ("JPEG", "RGB", 7000, "thumbnail of 7000x7000"),  # decoded at 1/8 scale
    ("PNG", "RGB", 4096, "thumbnail of 4096x4096"),   # the FILE_IMAGE_MAX_DECODE_MB edge
])
def test_peak_memory_of_decoding_the_largest_allowed_images_stays_under_100_mb(tmp_path, fmt, mode,
                                                                            side, outcome):
    path = tmp_path / f"big.{fmt.lower()}"
    make_image(path, fmt, mode, side, side)
    got = measure(path)
    assert got["outcome"] == outcome
    assert got["growth_kib"] <= LIMIT_KIB, got


def test_an_image_too_big_to_decode_whole_is_refused_with_a_clear_error():
    with pytest.raises(PermanentError) as info:
        analyse_image(io.BytesIO(png_bytes(1000, 1000)), thumbnail_size=64, max_pixels=10_000_000,
                      max_decode_bytes=1000 * 1000 * 4 - 1)
    assert info.value.code == "IMAGE_TOO_LARGE" and "MB" in str(info.value)
    facts, thumb = analyse_image(io.BytesIO(png_bytes(1000, 1000)), thumbnail_size=64,
                                 max_pixels=10_000_000, max_decode_bytes=1000 * 1000 * 4)
    assert (facts["width"], facts["height"]) == (1000, 1000) and thumb.width == 64
