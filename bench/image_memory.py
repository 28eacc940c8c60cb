"""Peak memory of a worker decoding the largest images the settings allow.

    .venv/bin/python bench/image_memory.py [--json PATH]

For each image below, a fresh Python process (like a worker's child: Pillow and the
hub's file analysis imported and warmed up first) runs `analyse_image` exactly as the
`file.process` job does, with the default FILE_IMAGE_MAX_PIXELS, FILE_IMAGE_MAX_DECODE_MB
and FILE_THUMBNAIL_SIZE, and reports how far its peak RSS (the kernel's high-water
mark, VmHWM) rose over the warmed-up baseline. The images are made here: flat
colour with some noise, so a 7000x7000 PNG is a few hundred KB, like the one that
raised a worker by 750 MB before the decoder was bounded.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from bench import cli  # noqa: E402

LIMIT_MB = 100

# What the job does, in a process of its own; prints the growth of its peak RSS in KiB.
MEASURE = r"""
import io, json, sys
from hub.config import SETTINGS
from hub.services.files.analysis import analyse_image
from hub.jobs.types import PermanentError
from PIL import Image, JpegImagePlugin, PngImagePlugin  # noqa: F401  (imported, as in a worker)

path = sys.argv[1]
pixels, decode_mb, thumb = (SETTINGS[n][1] for n in ("FILE_IMAGE_MAX_PIXELS", "FILE_IMAGE_MAX_DECODE_MB",
                                                     "FILE_THUMBNAIL_SIZE"))
warm = io.BytesIO()
Image.new("RGB", (64, 64)).save(warm, format="PNG")
warm.seek(0)
analyse_image(warm, thumbnail_size=thumb, max_pixels=pixels)  # first-use allocations
def hwm_kib():
    # /proc's VmHWM belongs to this process image; ru_maxrss would carry the parent's
    # high-water mark across fork and exec.
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))

with open(path, "rb") as fh:
    data = fh.read()
base = hwm_kib()
try:
    facts, _thumb = analyse_image(io.BytesIO(data), thumbnail_size=thumb, max_pixels=pixels,
                                  max_decode_bytes=decode_mb * 2**20)
    outcome = f"thumbnail of {facts['width']}x{facts['height']}"
except PermanentError as exc:
    outcome = exc.code
peak = hwm_kib()
print(json.dumps({"growth_kib": peak - base, "outcome": outcome, "file_bytes": len(data)}))
"""


def make_image(path: Path, fmt: str, mode: str, width: int, height: int) -> None:
    """Flat colour with a little noise in one corner (so it is not trivially empty)."""
    from PIL import Image

    img = Image.new(mode, (width, height), 128 if mode in ("L", "P") else (200, 120, 40))
    img.paste(Image.effect_noise((256, 256), 64).convert(mode), (0, 0))
    img.save(path, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))


def measure(path: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True,
                         check=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    return json.loads(out.stdout.strip().splitlines()[-1])


CASES = [
    # (label, format, mode, width, height)
    ("JPEG 7000x7000 RGB (49 Mpx, under FILE_IMAGE_MAX_PIXELS)", "JPEG", "RGB", 7000, 7000),
    ("PNG 7000x7000 RGB (the reported image)", "PNG", "RGB", 7000, 7000),
    ("PNG 7000x7000 greyscale (49 MB decoded)", "PNG", "L", 7000, 7000),
    ("PNG 4096x4096 RGB (64 MB decoded: the FILE_IMAGE_MAX_DECODE_MB edge)", "PNG", "RGB", 4096, 4096),
    ("PNG 7000x7000 palette (49 MB decoded)", "PNG", "P", 7000, 7000),
]


def main() -> None:
    args = cli.parse(cli.parser(__doc__))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, fmt, mode, width, height in CASES:
            path = Path(tmp) / f"{fmt}-{mode}-{width}.img"
            make_image(path, fmt, mode, width, height)
            got = measure(path)
            rows.append({"image": label, **got, "growth_mb": round(got["growth_kib"] / 1024, 1)})
            path.unlink()
    print("| image | file | outcome | peak RSS growth |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['image']} | {r['file_bytes'] // 1024} KB | {r['outcome']} | {r['growth_mb']} MB |")
    worst = max(r["growth_mb"] for r in rows)
    print(f"\nworst: {worst} MB (limit {LIMIT_MB} MB)")
    cli.write_figures(args.json, {"images": rows, "worst_growth_mb": worst, "limit_mb": LIMIT_MB})
    if worst > LIMIT_MB:
        sys.exit(1)


if __name__ == "__main__":
    main()
