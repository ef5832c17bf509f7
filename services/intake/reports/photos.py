"""Photo attachments: decoded, size-checked and typed from their content, not their name."""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass

from PIL import Image, ImageOps

from services.intake.errors import PhotoRejected
from services.intake.reports.models import PhotoIn

_SIGNATURES = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}


@dataclass(frozen=True)
class Photo:
    content_type: str
    data: bytes
    filename: str | None


def sniff_image_type(data: bytes) -> str | None:
    for signature, mime in _SIGNATURES.items():
        if data.startswith(signature):
            return mime
    return None


def decode_photos(photos: list[PhotoIn], *, max_bytes: int) -> list[Photo]:
    out = []
    for index, photo in enumerate(photos):
        try:
            data = base64.b64decode(photo.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise PhotoRejected(index, "not valid base64", code="photo_base64") from None
        if len(data) > max_bytes:
            mb = max_bytes // (1024 * 1024)
            raise PhotoRejected(index, f"larger than {mb} MB", code="photo_size", mb=mb)
        mime = sniff_image_type(data)
        if mime is None:
            raise PhotoRejected(index, "not a JPEG or PNG image", code="photo_type")
        try:
            clean = strip_metadata(data, mime)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            raise PhotoRejected(index, "not a readable JPEG or PNG image",
                                code="photo_type") from None
        out.append(Photo(mime, clean, photo.filename))
    return out


def strip_metadata(data: bytes, mime: str) -> bytes:
    """The image re-encoded from its pixels alone: no EXIF (GPS position, camera, owner), no
    text chunks, no comments; a rotation recorded in EXIF is applied to the pixels first."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        upright = ImageOps.exif_transpose(image) or image
        pixels = Image.new(upright.mode, upright.size)
        pixels.paste(upright)
        if mime == "image/png":
            return _save(pixels, "PNG", optimize=True)
        if pixels.mode not in ("RGB", "L", "CMYK"):
            pixels = pixels.convert("RGB")
        return _save(pixels, "JPEG", quality=90)


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()
