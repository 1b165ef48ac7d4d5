"""Reading a file a user named: only a regular file, only up to a size limit.

Every file dvcload reads from a path on its command line or in a scenario (scenario
and budgets YAML, portal configurations, rate CSV files, calibrated models, results
folders) is read through :func:`read_bytes` or :func:`read_text`. A path to a device
(``/dev/zero`` never ends), a FIFO (blocks until a writer comes), a socket or a
folder is refused, as is a file over the limit, with one :class:`ConfigError` line
naming the file. The file is opened with ``O_NONBLOCK`` and checked again with
``fstat`` on the open descriptor, so a path swapped for a FIFO between the check and
the open cannot block the reader.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import BinaryIO, TextIO

from dvcschema.errors import ConfigError, shown

MAX_FILE_BYTES = 4 * 1024 * 1024  # configuration files: scenarios, budgets, portal configs
_CHUNK_BYTES = 1024 * 1024
_KINDS = (
    (stat.S_ISDIR, "is a folder"),
    (stat.S_ISFIFO, "is a FIFO (named pipe)"),
    (stat.S_ISCHR, "is a character device"),
    (stat.S_ISBLK, "is a block device"),
    (stat.S_ISSOCK, "is a socket"),
)


def read_bytes(path: str | Path, *, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Raises
    ------
    ConfigError
        No such file, no permission, not a regular file, or larger than ``limit``.
    """
    fd = _open_checked(path, limit)
    try:
        return _read_at_most(fd, str(path), limit)
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=str(path)) from None
    finally:
        os.close(fd)


def open_text(path: str | Path, *, limit: int, encoding: str = "utf-8") -> TextIO:
    """The regular file ``path`` (at most ``limit`` bytes) open as text, for files too
    large to read at once; the caller closes it (``with open_text(...) as handle``)."""
    fd = _open_checked(path, limit)
    os.set_blocking(fd, True)
    return open(fd, encoding=encoding, newline="", closefd=True)


def open_binary(path: str | Path, *, limit: int = 1 << 50) -> BinaryIO:
    """The regular file ``path`` open for buffered binary reading (logs, read as a
    stream); the caller closes it."""
    fd = _open_checked(path, limit)
    os.set_blocking(fd, True)
    return open(fd, "rb", buffering=_CHUNK_BYTES, closefd=True)


def _open_checked(path: str | Path, limit: int) -> int:
    """A descriptor of ``path`` once ``stat`` and ``fstat`` both say: a regular file of
    at most ``limit`` bytes (``O_NONBLOCK``: opening a FIFO does not wait for a writer)."""
    source = str(path)
    try:
        _check(os.stat(path), source, limit)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ConfigError("no such file", source=source) from None
    except PermissionError:
        raise ConfigError("permission denied", source=source) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=source) from None
    except ValueError:  # a NUL character in the path
        raise ConfigError("not a file name (contains a NUL character)", source=source) from None
    try:
        _check(os.fstat(fd), source, limit)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_text(path: str | Path, *, limit: int = MAX_FILE_BYTES, encoding: str = "utf-8") -> str:
    """The text of the regular file ``path`` (see :func:`read_bytes`); bad UTF-8 and NUL
    bytes are a :class:`ConfigError` too."""
    raw = read_bytes(path, limit=limit)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (bad byte at offset {exc.start})", source=str(path)
        ) from None
    if "\x00" in text:
        raise ConfigError("not a text file (contains NUL bytes)", source=str(path))
    return text


def existing_path(base_dir: Path, value: object) -> Path:
    """The path a scenario names (``value``, relative to ``base_dir``), resolved, once it
    exists; ``ValueError`` otherwise. What it is (a FIFO, a folder) is judged when it
    is read."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{shown(value)} is not a file path")
    try:
        path = (base_dir / value).resolve()
    except (OSError, RuntimeError):  # a symlink loop, ...
        raise ValueError(f"{shown(value)} is not a file path") from None
    if not exists(path):
        raise ValueError(f"no such file {shown(str(path))}")
    return path


def exists(path: str | Path) -> bool:
    """Whether anything is at ``path`` (an optional file; :func:`read_text` then judges it)."""
    with contextlib.suppress(OSError, ValueError):
        os.stat(path)
        return True
    return False


def _check(status: os.stat_result, source: str, limit: int) -> None:
    mode = status.st_mode
    if not stat.S_ISREG(mode):
        what = next((text for test, text in _KINDS if test(mode)), "is not a regular file")
        raise ConfigError(f"{what}; expected a regular file", source=source)
    if status.st_size > limit:
        raise ConfigError(
            f"file is {status.st_size:,} bytes; at most {limit:,} are allowed", source=source
        )


def _read_at_most(fd: int, source: str, limit: int) -> bytes:
    """Read to the end, refusing more than ``limit`` bytes (the file may have grown)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := os.read(fd, min(_CHUNK_BYTES, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise ConfigError(f"file is over {limit:,} bytes, the limit", source=source)
    return b"".join(chunks)
