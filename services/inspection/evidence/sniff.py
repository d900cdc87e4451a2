"""What a file is, from its first bytes (magic numbers), never from its name or the type a
client declares: only the evidence kinds a person needs (photos, scans, reports) pass."""

from __future__ import annotations

# Bytes needed to tell every accepted kind apart (an ISO-BMFF box header is 12).
HEAD_BYTES = 16

# media type -> file extension used in a download's file name
ACCEPTED = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/heic": "heic",
    "image/heif": "heif",
    "application/pdf": "pdf",
}

# ISO-BMFF major brands of HEIF still images (ISO/IEC 23008-12): HEVC-coded ones are HEIC.
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
_HEIF_BRANDS = {b"mif1", b"msf1"}


def media_type(head: bytes) -> str | None:
    """The accepted media type whose signature `head` (a file's first bytes) starts with,
    or None for anything else (HTML, scripts, executables, archives, text, too short)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIC_BRANDS:
            return "image/heic"
        if brand in _HEIF_BRANDS:
            return "image/heif"
    return None
