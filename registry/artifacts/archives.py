"""Zip archives sent by users, opened only after their directory passes a few checks.

A zip's central directory says how many entries it has, what each is called and how large it
becomes once inflated; all of that is checked before a single byte is inflated, so a zip bomb
or an entry named ``../../etc/passwd`` is refused, never extracted. Nothing here writes entries
to disk: callers read the members they need into memory, each read bounded by its declared size
(checked against the caller's limit for that member before it is inflated).

Two kinds of upload are zips: a skops model file (registry/artifacts.py) and a zipped MLflow
model directory (registry/mlflow_import.py); both go through :func:`zip_directory_check`.
"""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

from django.core.exceptions import ValidationError

# Above this size an entry must not inflate more than ``max_ratio`` times: deflate reaches
# ~1000:1 on zeros, real model files (JSON, YAML, NumPy arrays) stay far below 100:1; small
# members may deflate well (repeated JSON keys, zeros) and cost little.
_RATIO_FLOOR_BYTES = 1024 * 1024


class ZipRefused(ValueError):
    """An archive refused by its directory; the message says why, for a person."""


@dataclass(frozen=True)
class ZipLimits:
    """What an archive may hold: entries, inflated bytes in all, inflation ratio per entry,
    and the inflated size of named members (``member_bytes``); ``setting`` names the setting
    behind ``max_bytes``, for the refusal."""

    max_entries: int = 1_000
    max_bytes: int = 512 * 1024 * 1024
    max_ratio: int = 100
    member_bytes: Mapping[str, int] = field(default_factory=dict)
    setting: str = ""


def _unsafe_name(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return (
        name.startswith(("/", "\\"))
        or "\x00" in name
        or ":" in parts[0]  # a Windows drive, C:
        or any(part == ".." for part in parts)
    )


def zip_directory_check(archive: zipfile.ZipFile, limits: ZipLimits) -> None:
    """Refuse (:class:`ZipRefused`) an archive whose directory breaks ``limits``.

    Refused: more entries than allowed, an entry that is absolute, climbs out with ``..``, is
    a symbolic link or is encrypted, more inflated bytes than allowed in all or for a named
    member, or an entry that inflates more than ``max_ratio`` times. Nothing is inflated.
    """
    entries = archive.infolist()
    if len(entries) > limits.max_entries:
        raise ZipRefused(
            f"The zip archive has {len(entries)} entries; at most {limits.max_entries}."
        )
    total = 0
    for entry in entries:
        if _unsafe_name(entry.filename):
            raise ZipRefused(f"The zip entry {entry.filename[:100]!r} points outside the archive.")
        if stat.S_ISLNK(entry.external_attr >> 16):
            raise ZipRefused(f"The zip entry {entry.filename[:100]!r} is a symbolic link.")
        if entry.flag_bits & 0x1:
            raise ZipRefused(f"The zip entry {entry.filename[:100]!r} is encrypted.")
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > _RATIO_FLOOR_BYTES and ratio > limits.max_ratio:
            raise ZipRefused(
                f"The zip entry {entry.filename[:100]!r} unpacks to {entry.file_size:,} bytes "
                f"from {entry.compress_size:,} ({ratio:,.0f} times; at most {limits.max_ratio}):"
                " this looks like a zip bomb."
            )
        most = limits.member_bytes.get(entry.filename)
        if most is not None and entry.file_size > most:
            raise ZipRefused(
                f"{entry.filename} unpacks to {entry.file_size:,} bytes (at most {most:,})."
            )
        total += entry.file_size
        if total > limits.max_bytes:
            setting = f", {limits.setting}" if limits.setting else ""
            raise ZipRefused(
                f"The zip archive unpacks to more than {limits.max_bytes:,} bytes "
                f"(at most {limits.max_bytes:,}{setting})."
            )


def zip_open(data: bytes | BinaryIO) -> zipfile.ZipFile:
    """An archive over bytes or a seekable file; :class:`ZipRefused` when it is not a zip."""
    source = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
    if not zipfile.is_zipfile(source):
        raise ZipRefused("This is not a zip archive.")
    try:
        source.seek(0)
        archive = zipfile.ZipFile(source)
        archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ZipRefused(f"The zip archive cannot be read: {exc}") from None
    return archive


def zip_open_checked(
    *, data: bytes | BinaryIO, field: str, limits: ZipLimits = ZipLimits()
) -> zipfile.ZipFile:
    """Open zip bytes (or a seekable file, read in place) whose directory is safe to read.

    Refused with a message under ``field``: not a zip, or a directory that breaks ``limits``
    (see :func:`zip_directory_check`).
    """
    try:
        archive = zip_open(data)
        zip_directory_check(archive, limits)
    except ZipRefused as exc:
        raise ValidationError({field: [str(exc)]}) from None
    return archive


def zip_member_read(
    *, archive: zipfile.ZipFile, name: str, field: str, max_bytes: int, label: str = ""
) -> bytes | None:
    """The bytes of one member, or None when there is none of that name.

    A member that declares more than ``max_bytes`` is refused before it is inflated (named as
    ``label``, the name by default). Reads at most the size the directory declared (zipfile
    stops there and checks the CRC), so a member cannot inflate past what was accepted.
    """
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > max_bytes:
        raise ValidationError({field: [f"{label or name} is larger than {max_bytes:,} bytes."]})
    try:
        with archive.open(info) as handle:
            data = handle.read(info.file_size + 1)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ValidationError({field: [f"The zip entry {name!r} cannot be read: {exc}"]}) from None
    if len(data) != info.file_size:
        raise ValidationError({field: [f"The zip entry {name!r} is not the size it declares."]})
    return data
