"""Image bytes in and out: safe decoding of client images, fast PNG encoding of results."""

from __future__ import annotations

import base64
import binascii
import io

from PIL import Image

from ..errors import InvalidInput, PayloadTooLarge

# Only these decoders ever see client bytes (no EPS/PSD/FITS... through Pillow's plugin zoo).
ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP")
DATA_URL_PREFIXES = ("data:image/png;base64,", "data:image/jpeg;base64,", "data:image/webp;base64,")

# Level 1 is several times faster than Pillow's default 6 for a few percent more bytes.
PNG_COMPRESS_LEVEL = 1


def decode_image(data: str, field: str, max_side: int, max_pixels: int) -> Image.Image:
    """Decode a base64 PNG/JPEG/WebP (a ``data:image/...;base64,`` URL is accepted too) to RGB.

    The dimensions are checked from the header, before any pixel is decoded.
    """
    for prefix in DATA_URL_PREFIXES:
        if data.startswith(prefix):
            data = data[len(prefix):]
            break
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(field, "is not valid base64") from None
    if not raw:
        raise InvalidInput(field, "is empty")
    try:
        image = Image.open(io.BytesIO(raw), formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError:
        raise PayloadTooLarge(
            field, f"exceeds the limits of {max_side} px a side and {max_pixels} pixels"
        ) from None
    except Exception:
        raise InvalidInput(field, "is not a PNG, JPEG or WebP image") from None
    width, height = image.size
    if width > max_side or height > max_side:
        raise PayloadTooLarge(field, f"is {width}×{height}; each side must be at most {max_side} px")
    if width * height > max_pixels:
        raise PayloadTooLarge(field, f"is {width}×{height}; at most {max_pixels} pixels are accepted")
    try:
        image.load()
    except Exception:
        raise InvalidInput(field, "is a truncated or corrupt image") from None
    return image.convert("RGB")


# Response formats: PNG (lossless, the default) at a fast compression level; WebP and JPEG for
# clients that prefer smaller responses (quality 90, fast encoder settings).
OUTPUT_FORMATS = {
    "png": ("PNG", {"compress_level": PNG_COMPRESS_LEVEL}),
    "webp": ("WEBP", {"quality": 90, "method": 0}),
    "jpeg": ("JPEG", {"quality": 90}),
}


def encode_image(image: Image.Image, output_format: str = "png", text: dict[str, str] | None = None) -> str:
    """Base64 of ``image`` in ``output_format`` (png, webp or jpeg), no data: prefix. ``text``
    becomes PNG tEXt chunks (keys of 1-79 Latin-1 characters); other formats carry none."""
    pil_format, options = OUTPUT_FORMATS[output_format]
    if text and pil_format == "PNG":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        for key, value in text.items():
            info.add_text(key, value)
        options = {**options, "pnginfo": info}
    buffer = io.BytesIO()
    image.save(buffer, format=pil_format, **options)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
