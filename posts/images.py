"""Covers' responsive renditions: WebP copies at the configured widths.

Renditions are made once, when a cover is saved, and their sizes are stored on the post, so
pages print width and height attributes without touching the disk. The upload checks before
this step are shared with avatars and live in accounts/images.py.
"""

import io
import secrets

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from accounts.images import flatten

RENDITION_DIR = "covers/renditions"
# Images inside post bodies: posts/richtext.py recognises our own by this folder.
BODY_IMAGE_DIR = "body"


def make_renditions(content: bytes, *, stem: str, directory: str = RENDITION_DIR) -> list[dict]:
    """Write WebP copies of content at the configured widths; return their name and size.

    Widths wider than the image itself are skipped, and the image's own width is always
    included so the sharpest copy is never an upscale. If any write fails, the copies already
    written are deleted before the error propagates.
    """
    source = Image.open(io.BytesIO(content))
    icc = {"icc_profile": source.info["icc_profile"]} if source.info.get("icc_profile") else {}
    image = flatten(source)
    widths = sorted({w for w in settings.POSTS_IMAGE_WIDTHS if w < image.width} | {image.width})
    token = secrets.token_hex(4)
    written: list[dict] = []
    try:
        for width in widths:
            height = max(1, round(image.height * width / image.width))
            resized = (
                image if width == image.width else image.resize((width, height), Image.LANCZOS)
            )
            buffer = io.BytesIO()
            resized.save(buffer, "WEBP", quality=80, method=4, **icc)
            name = default_storage.save(
                f"{directory}/{stem}-{token}-{width}w.webp", ContentFile(buffer.getvalue())
            )
            written.append({"name": name, "width": width, "height": height})
    except Exception:
        delete_renditions(written)
        raise
    return written


def delete_renditions(renditions: list[dict]) -> None:
    """Delete rendition files, ignoring ones already gone."""
    for rendition in renditions or []:
        name = rendition.get("name")
        if name:
            default_storage.delete(name)
