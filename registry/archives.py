"""Zip archives sent by users, opened only after their directory passes a few checks.

A zip's central directory says how many entries it has, what each is called and how large it
becomes once inflated; all of that is checked before a single byte is inflated, so a zip bomb
or an entry named ``../../etc/passwd`` is refused, never extracted. Nothing here writes entries
to disk: callers read the members they need into memory, each read bounded by its declared size.
"""

from __future__ import annotations

import io
import stat
import zipfile
from dataclasses import dataclass

from django.core.exceptions import ValidationError

# Above this size an entry must not inflate more than ``max_ratio`` times: deflate reaches
# ~1000:1 on zeros, real model directories (JSON, YAML, NumPy arrays) stay far below 100:1.
_RATIO_FLOOR_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ZipLimits:
    """What an archive may hold: entries, inflated bytes in all, inflation ratio per entry."""

    max_entries: int = 1_000
    max_bytes: int = 512 * 1024 * 1024
    max_ratio: int = 100


def _unsafe_name(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return (
        name.startswith(("/", "\\"))
        or "\x00" in name
        or ":" in parts[0]  # a Windows drive, C:
        or any(part == ".." for part in parts)
    )


def zip_open_checked(
    *, data: bytes, field: str, limits: ZipLimits = ZipLimits()
) -> zipfile.ZipFile:
    """Open zip bytes whose directory is safe to read; refuse the archive otherwise.

    Refused, with a message under ``field``: not a zip, more entries than allowed, an entry
    that is absolute, climbs out with ``..``, is a symbolic link or is encrypted, more inflated
    bytes than allowed, or an entry that inflates more than ``max_ratio`` times.
    """

    def refuse(message: str) -> ValidationError:
        return ValidationError({field: [message]})

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise refuse("This is not a zip archive.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise refuse(f"The zip archive cannot be read: {exc}") from None
    if len(entries) > limits.max_entries:
        raise refuse(f"The zip archive has {len(entries)} entries; at most {limits.max_entries}.")
    total = 0
    for entry in entries:
        if _unsafe_name(entry.filename):
            raise refuse(f"The zip entry {entry.filename!r} points outside the archive.")
        if stat.S_ISLNK(entry.external_attr >> 16):
            raise refuse(f"The zip entry {entry.filename!r} is a symbolic link.")
        if entry.flag_bits & 0x1:
            raise refuse(f"The zip entry {entry.filename!r} is encrypted.")
        total += entry.file_size
        if total > limits.max_bytes:
            raise refuse(f"The zip archive inflates to more than {limits.max_bytes:,} bytes.")
        if entry.file_size > _RATIO_FLOOR_BYTES and entry.file_size > limits.max_ratio * max(
            entry.compress_size, 1
        ):
            raise refuse(
                f"The zip entry {entry.filename!r} inflates more than {limits.max_ratio} times; "
                "it looks like a zip bomb."
            )
    return archive


def zip_member_read(*, archive: zipfile.ZipFile, name: str, field: str) -> bytes | None:
    """The bytes of one member, or None when there is none of that name.

    Reads at most the size the directory declared (zipfile stops there and checks the CRC),
    so a member cannot inflate past what :func:`zip_open_checked` accepted.
    """
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    try:
        with archive.open(info) as handle:
            data = handle.read(info.file_size + 1)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ValidationError({field: [f"The zip entry {name!r} cannot be read: {exc}"]}) from None
    if len(data) != info.file_size:
        raise ValidationError({field: [f"The zip entry {name!r} is not the size it declares."]})
    return data
