"""``multipart/form-data`` bodies (RFC 7578), for uploads through Locust's fast client.

Locust's ``FastHttpSession`` sends ``data`` as is and has no ``files=``; declared
``files:`` steps and Python journeys' ``http.post(..., files=...)`` are encoded here
into one body and its ``Content-Type`` with a fresh boundary.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

FileValue = tuple[str, bytes, str]  # (file name, content, content type)


def encode(
    fields: Mapping[str, Any] | None, files: Mapping[str, FileValue | bytes]
) -> tuple[bytes, str]:
    """``(body, content type)`` for form ``fields`` (text values) and ``files``.

    A file is ``(name, bytes, content type)``, or bare bytes (sent as
    ``application/octet-stream`` named after its field).

    >>> body, kind = encode({"a": "1"}, {"f": ("f.pdf", b"%PDF", "application/pdf")})
    >>> kind.startswith("multipart/form-data; boundary=") and b'name="f"; filename="f.pdf"' in body
    True
    """
    boundary = f"dvcload-{uuid.uuid4().hex}"
    parts: list[bytes] = []
    for name, value in (fields or {}).items():
        parts.append(_head(boundary, f'form-data; name="{_quoted(name)}"', None))
        parts.append(str(value).encode("utf-8") + b"\r\n")
    for name, value in files.items():
        filename, content, content_type = (
            value if isinstance(value, tuple) else (name, value, "application/octet-stream")
        )
        disposition = f'form-data; name="{_quoted(name)}"; filename="{_quoted(filename)}"'
        parts.append(_head(boundary, disposition, content_type))
        parts.append(bytes(content) + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode("ascii"))
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _head(boundary: str, disposition: str, content_type: str | None) -> bytes:
    lines = [f"--{boundary}", f"Content-Disposition: {disposition}"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def _quoted(text: str) -> str:
    """A name inside a quoted header parameter (RFC 7578 4.2: quotes and newlines escaped)."""
    return text.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
