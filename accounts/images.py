"""Uploaded images: validate an upload and make a clean copy (rotated, stripped, resized).

Readers' avatars and posts' covers go through the same checks, so this part of the pipeline
lives here, in the lowest app: posts imports it from accounts, never the other way round. The
covers' responsive renditions are posts' own (posts/images.py). The limits are the
``POSTS_IMAGE_*`` settings, named when covers were the only uploads; avatars share them.

A few dozen lines of Pillow do what we need (check, rotate, strip, resize, encode), so we keep
them here instead of adding a thumbnail library.
"""

import io
import warnings
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow format name -> (format we store, file extension)
ACCEPTED_FORMATS = {
    "JPEG": ("JPEG", "jpg"),
    "MPO": ("JPEG", "jpg"),  # phones save some JPEGs as multi-picture files
    "PNG": ("PNG", "png"),
    "WEBP": ("WEBP", "webp"),
}


def max_upload_bytes() -> int:
    return settings.POSTS_IMAGE_MAX_BYTES


def max_pixels() -> int:
    return settings.POSTS_IMAGE_MAX_PIXELS


@dataclass(frozen=True)
class CleanImage:
    content: bytes
    extension: str
    width: int
    height: int


def _open(file) -> Image.Image:
    """Open file with Pillow, turning every way it can fail into a ValidationError."""
    size = getattr(file, "size", None)
    if size is not None and size > max_upload_bytes():
        raise ValidationError(
            _("This image is %(size)s; the limit is %(limit)s. Please upload a smaller file.")
            % {"size": filesizeformat(size), "limit": filesizeformat(max_upload_bytes())},
            code="file_too_large",
        )
    if hasattr(file, "seek"):
        file.seek(0)
    try:
        with warnings.catch_warnings():
            # Pillow warns before it refuses; our own pixel cap below is lower than both.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(file)
    except Image.DecompressionBombError:
        raise ValidationError(
            _("This image has too many pixels (over %(limit)s million). Please resize it.")
            % {"limit": max_pixels() // 1_000_000},
            code="too_many_pixels",
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ValidationError(
            _("This file is not an image we can read. Upload a JPEG, PNG or WebP picture."),
            code="not_an_image",
        ) from None
    if image.format not in ACCEPTED_FORMATS:
        raise ValidationError(
            _("%(format)s images are not supported. Upload a JPEG, PNG or WebP picture.")
            % {"format": image.format or _("This kind of")},
            code="unsupported_format",
        )
    # Checked from the header alone, before a single pixel is decoded.
    if image.width * image.height > max_pixels():
        raise ValidationError(
            _(
                "This image is %(width)s × %(height)s pixels; the limit is %(limit)s million "
                "pixels. Please resize it."
            )
            % {"width": image.width, "height": image.height, "limit": max_pixels() // 1_000_000},
            code="too_many_pixels",
        )
    return image


def validate_image_upload(file) -> None:
    """Raise ValidationError unless file is a readable JPEG, PNG or WebP within our caps."""
    image = _open(file)
    try:
        image.load()  # a truncated or corrupt file fails here, not later while saving
    except (OSError, ValueError, SyntaxError):
        raise ValidationError(
            _("This image is damaged or incomplete. Please export it again and retry."),
            code="corrupt_image",
        ) from None
    finally:
        if hasattr(file, "seek"):
            file.seek(0)


class CheckedImageField(forms.ImageField):
    """An image field that checks size, pixel count and format before anything is decoded."""

    def to_python(self, data):
        if data in self.empty_values:
            return None
        validate_image_upload(data)
        return super().to_python(data)


def flatten(image: Image.Image) -> Image.Image:
    """Return image in a mode every encoder accepts, keeping transparency where there is any."""
    has_alpha = image.mode in {"RGBA", "LA", "PA"} or (
        image.mode == "P" and "transparency" in image.info
    )
    return image.convert("RGBA" if has_alpha else "RGB")


def clean_image(file, *, max_edge: int | None = None) -> CleanImage:
    """Return a clean copy of an uploaded image.

    The copy is upright (EXIF orientation applied), carries no metadata (no GPS, camera,
    owner, comments or XMP; only the colour profile survives), and is at most max_edge
    pixels on its longer side.
    """
    validate_image_upload(file)
    image = _open(file)
    store_format, extension = ACCEPTED_FORMATS[image.format]
    # A colour profile only still describes the pixels if we do not convert them to RGB from
    # another colour space (CMYK, say).
    icc_profile = image.info.get("icc_profile") if image.mode in {"RGB", "RGBA"} else None
    image = ImageOps.exif_transpose(image)
    image = flatten(image)
    edge = max_edge or settings.POSTS_IMAGE_MAX_EDGE
    if max(image.size) > edge:
        image.thumbnail((edge, edge), Image.Resampling.LANCZOS)
    if store_format == "JPEG" and image.mode == "RGBA":
        image = image.convert("RGB")
    image.info = {}
    options = {"icc_profile": icc_profile} if icc_profile else {}
    if store_format == "JPEG":
        options |= {"quality": 85, "optimize": True, "progressive": True}
    elif store_format == "WEBP":
        options |= {"quality": 85, "method": 4}
    else:
        options |= {"optimize": True}
    buffer = io.BytesIO()
    image.save(buffer, store_format, **options)
    if hasattr(file, "seek"):
        file.seek(0)
    return CleanImage(buffer.getvalue(), extension, image.width, image.height)
