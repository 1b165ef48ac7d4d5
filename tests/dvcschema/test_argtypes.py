"""Command-line value types: ASCII digits, a range for every number, a length for every
text, paths the file system can have, and folders dvcload may write under."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from dvcload.cli import build_parser
from dvcschema import argtypes
from dvcschema.errors import MAX_SHOWN_CHARS


def _refused(kind: str, value: str, fragment: str = "") -> str:
    with pytest.raises(argparse.ArgumentTypeError) as info:
        argtypes.TYPES[kind](value)
    message = str(info.value)
    assert fragment in message, message
    assert "\n" not in message and len(message) < 2 * MAX_SHOWN_CHARS + 80, message
    return message


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [("port", "1", 1), ("port", "65535", 65535), ("port_or_0", "0", 0), ("processes", "64", 64),
     ("seed", "0", 0), ("seed", str(2**63 - 1), 2**63 - 1), ("users", "+3", 3),
     ("arrival_rate", "0.5", 0.5), ("arrival_rate", "1e3", 1000.0),
     ("service_time_ms", "0", 0.0), ("bind_address", "::1", "::1"), ("bind_address", "*", "*"),
     ("bind_address", "localhost", "localhost"), ("bind_address", "0.0.0.0", "0.0.0.0"),
     ("host", "loadgen-1.example.vn", "loadgen-1.example.vn"), ("host", "10.0.0.7", "10.0.0.7"),
     ("partition", "1/4", "1/4")],
)  # fmt: skip
def test_good_values_parse(kind: str, value: str, expected: object) -> None:
    assert argtypes.TYPES[kind](value) == expected


@pytest.mark.parametrize(
    ("kind", "value", "fragment"),
    [("port", "0", "out of range; allowed: 1 to 65535"), ("port", "65536", "out of range"),
     ("port", "70000", "out of range"), ("port_or_0", "-1", "out of range"),
     ("port", "٧٠", "a whole number"), ("port", "８０", "a whole number"),
     ("port", " 80", "a whole number"), ("port", "1_000", "a whole number"),
     ("port", "80.0", "a whole number"), ("port", "9" * 5000, "a whole number"),
     ("processes", "65", "out of range"), ("processes", "١", "a whole number"),
     ("seed", "-1", "out of range"), ("seed", str(2**63), "out of range"),
     ("users", "0", "out of range"), ("arrival_rate", "0", "out of range"),
     ("arrival_rate", "nan", "a number"), ("arrival_rate", "inf", "a number"),
     ("arrival_rate", "١٠", "a number"), ("service_time_ms", "-1", "out of range"),
     ("bind_address", "no such host", "an IP address"),
     ("bind_address", "example.vn", "an IP address"), ("host", "a b", "host name"),
     ("host", "-bad-.vn", "host name"), ("host", "x" * 300, "host name"),
     ("partition", "1/1", "K/N"), ("partition", "١/٢", "K/N"),
     ("short_text", "x" * 65, "at most 64"), ("text", "a\nb", "printable"),
     ("url", "http://" + "x" * 3000, "at most 2,048")],
)  # fmt: skip
def test_bad_values_are_refused_on_one_short_line(kind: str, value: str, fragment: str) -> None:
    _refused(kind, value, fragment)


def test_paths_the_file_system_cannot_have_are_refused() -> None:
    _refused("path", "a" * 256, "over 255 bytes")
    _refused("path", "d/" + "é" * 128, "over 255 bytes")  # 256 bytes in UTF-8
    _refused("path", "x" * 5000, "at most 4,096")
    assert argtypes.TYPES["path"]("a" * 255) == Path("a" * 255)


def test_a_file_to_write_may_not_be_a_folder_or_a_fifo(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo.csv")
    _refused("file_to_write", str(tmp_path / "fifo.csv"), "not a regular file")
    _refused("file_to_write", str(tmp_path), "not a regular file")
    assert argtypes.TYPES["file_to_write"](str(tmp_path / "new.csv")) == tmp_path / "new.csv"


def test_an_out_folder_is_a_folder_or_can_become_one(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("x")
    _refused("out_folder", str(file), "is not a folder")
    _refused("out_folder", str(file / "sub" / "deeper"), f"is under '{file}', which is not")
    _refused("out_folder", "/", "root of the file system")
    _refused("out_folder", "/..", "root of the file system")
    (tmp_path / "to-root").symlink_to("/")
    _refused("out_folder", str(tmp_path / "to-root"), "root of the file system")
    assert argtypes.TYPES["out_folder"](str(tmp_path / "new" / "runs")) == tmp_path / "new/runs"
    assert argtypes.TYPES["out_folder"](str(tmp_path)) == tmp_path


def test_the_limits_agree_with_the_schema() -> None:
    from dvcload.commands.population import MAX_SIZE
    from dvcload.commands.run import MAX_PROCESSES
    from dvcschema.load import MAX_RATE_PER_S, MAX_USERS
    from planning import MAX_SAMPLES
    from portal.config import MAX_MEAN_MS, MAX_SERVERS

    t = argtypes.TYPES
    t["users"](str(MAX_USERS))
    t["processes"](str(MAX_PROCESSES))
    t["population_size"](str(MAX_SIZE))
    t["samples"](str(MAX_SAMPLES))
    t["servers"](str(MAX_SERVERS))
    t["arrival_rate"](str(MAX_RATE_PER_S))
    t["service_time_ms"](str(MAX_MEAN_MS))
    for kind, above in [("users", MAX_USERS + 1), ("processes", MAX_PROCESSES + 1),
                        ("population_size", MAX_SIZE + 1), ("samples", MAX_SAMPLES + 1),
                        ("servers", MAX_SERVERS + 1), ("arrival_rate", MAX_RATE_PER_S * 1.01),
                        ("service_time_ms", MAX_MEAN_MS * 1.01)]:  # fmt: skip
        _refused(kind, str(above), "out of range")


def _value_actions(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.Action]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += [(f"{name} {n}", a) for n, a in _value_actions(sub)]
        elif action.nargs != 0 and not isinstance(
            action, argparse._HelpAction | argparse._VersionAction
        ):
            found.append((action.dest, action))
    return found


def test_every_value_of_every_command_has_a_checked_type() -> None:
    """A value without ``type=`` (or ``choices``) reaches the command unchecked: any length,
    any digits. Every one is declared with a type of :mod:`dvcschema.argtypes`."""
    actions = _value_actions(build_parser())
    assert len(actions) > 40
    unchecked = [name for name, action in actions if action.type is None and not action.choices]
    assert unchecked == []
    loose = [name for name, action in actions if action.type in (int, float, str)]
    assert loose == []
