"""Reading a user's file: only a regular file, only up to a limit, never blocking."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dvcschema.errors import ConfigError
from dvcschema.files import exists, open_text, read_bytes, read_text


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo.yaml"
    os.mkfifo(path)
    return path


def _refused(path: Path, fragment: str, *, limit: int = 1024) -> None:
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=fragment) as info:
        read_bytes(path, limit=limit)
    assert time.perf_counter() - started < 30.0  # a runaway, not a timing: a FIFO blocks for ever
    assert str(info.value).startswith(f"{path}: ")


def test_a_fifo_is_refused_without_waiting_for_a_writer(fifo: Path) -> None:
    _refused(fifo, "is a FIFO")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_a_device_is_refused_not_read_forever(device: str) -> None:
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    _refused(Path(device), "is a character device")


def test_a_symlink_to_a_device_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "scenario.yaml"
    link.symlink_to("/dev/zero")
    _refused(link, "is a character device")


def test_a_folder_is_refused(tmp_path: Path) -> None:
    _refused(tmp_path, "is a folder")


def test_a_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"x" * 1025)
    _refused(path, "1,025 bytes; at most 1,024")
    assert read_bytes(path, limit=1025) == b"x" * 1025


def test_a_file_that_grows_while_read_is_cut_at_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "growing.csv"
    path.write_bytes(b"x" * 10)
    real_fstat = os.fstat

    def fstat_then_grow(fd: int) -> os.stat_result:
        result = real_fstat(fd)
        path.write_bytes(b"x" * 5000)  # after the size was checked
        return result

    monkeypatch.setattr(os, "fstat", fstat_then_grow)
    _refused(path, "over 1,024 bytes")


def test_a_path_swapped_for_a_fifo_after_the_check_is_refused(
    fifo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race: ``stat`` sees a regular file, ``open`` gets a FIFO. O_NONBLOCK opens it
    at once and ``fstat`` refuses it."""
    regular = tmp_path / "regular.yaml"
    regular.write_text("a: 1\n")
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: real_stat(regular))
    _refused(fifo, "is a FIFO")


def test_missing_file_and_nul_in_the_name(tmp_path: Path) -> None:
    _refused(tmp_path / "nope.yaml", "no such file")
    with pytest.raises(ConfigError, match="NUL"):
        read_bytes("a\x00b")
    with pytest.raises(ConfigError, match="File name too long"):
        read_bytes(tmp_path / ("a" * 300))


def test_text_must_be_utf8_without_nul(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_bytes(b"ok: \xff\n")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        read_text(path)
    path.write_bytes(b"ok: 1\x00\n")
    with pytest.raises(ConfigError, match="NUL"):
        read_text(path)
    path.write_text("tên: Nguyễn\n", encoding="utf-8")
    assert read_text(path) == "tên: Nguyễn\n"


def test_open_text_streams_a_regular_file_and_refuses_a_fifo(tmp_path: Path, fifo: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("cccd\n001203012345\n", encoding="utf-8")
    with open_text(path, limit=100) as handle:
        assert handle.read() == "cccd\n001203012345\n"
    with pytest.raises(ConfigError, match="is a FIFO"):
        open_text(fifo, limit=100)


def test_exists_never_raises(tmp_path: Path, fifo: Path) -> None:
    assert exists(fifo) and exists(tmp_path)
    assert not exists(tmp_path / "nope") and not exists(tmp_path / ("a" * 300))
    assert not exists("a\x00b")
