"""Image uploads from the chat: checked by content (magic bytes), not by name or declared type.

Files are stored under random names with the extension of the detected type, so nothing the client
sends ends up in a path, and SVG (which can carry script) is never accepted.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

ALLOWED_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}
STORED_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


class UploadRejected(Exception):
    """An upload we refuse; the message is shown to the customer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class StoredImage:
    stored_name: str
    content_type: str
    size_bytes: int
    sha256: str


def sniff_image_type(head: bytes) -> str | None:
    """The image MIME type from the first bytes of a file, for the four types we accept."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def store_image(stream: BinaryIO, upload_dir: Path, max_bytes: int) -> StoredImage:
    """Validate and save an uploaded image; raises UploadRejected (and leaves nothing behind) on bad input."""
    data = stream.read(max_bytes + 1)
    if not data:
        raise UploadRejected("The file is empty.")
    if len(data) > max_bytes:
        raise UploadRejected(f"The image is too large (the limit is {max_bytes // (1024 * 1024)} MB).", 413)
    content_type = sniff_image_type(data[:16])
    if content_type is None:
        raise UploadRejected("Only PNG, JPEG, WebP and GIF images can be attached.", 415)
    upload_dir.mkdir(parents=True, exist_ok=True)
    stored_name = f"{secrets.token_urlsafe(18)}.{ALLOWED_TYPES[content_type]}"
    path = upload_dir / stored_name
    with path.open("xb") as handle:
        handle.write(data)
    return StoredImage(stored_name, content_type, len(data), hashlib.sha256(data).hexdigest())


def is_stored_name(name: str) -> bool:
    """Whether `name` could be one of our stored names (no separators, known extension)."""
    return (0 < len(name) <= 80 and set(name) <= STORED_NAME_CHARS and not name.startswith(".")
            and name.rsplit(".", 1)[-1] in ALLOWED_TYPES.values())
