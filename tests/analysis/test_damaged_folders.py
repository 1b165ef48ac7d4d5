"""A damaged results folder is one ConfigError naming the file (exit code 2), whether it
is the run or the baseline: NaN, deep nesting, bad base64 or zlib, a missing key, a
wrong type, a file that is not a regular file."""

from __future__ import annotations

import base64
import json
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from analysis.calibrate import calibrate_runs
from analysis.gate import evaluate_gate
from analysis.report import write_report
from analysis.runfolder import RunFolder
from dvcschema.budgets import BudgetSet, parse_expression
from dvcschema.errors import ConfigError
from dvcschema.runschema import loads

BUDGETS = BudgetSet((parse_expression("p99 < 2s", key="*"),))
Damage = Callable[[Path], None]
MakeRun = Callable[..., Path]  # the fixture of tests/analysis/conftest.py


def _edit(name: str, change: Callable[[dict[str, Any]], None]) -> Damage:
    def damage(folder: Path) -> None:
        data = json.loads((folder / name).read_text(encoding="utf-8"))
        change(data)
        (folder / name).write_text(json.dumps(data), encoding="utf-8")

    return damage


def _text(name: str, text: str) -> Damage:
    return lambda folder: (folder / name).write_text(text, encoding="utf-8")


def _first_histogram(value: str | None) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        entry = next(iter(data["endpoints"].values()))
        if value is None:
            del entry["histogram"]
        else:
            entry["histogram"] = value

    return change


def _encoded(payload: bytes, *, compress: bool = True) -> str:
    body = zlib.compress(payload) if compress else payload
    return base64.b64encode(struct.pack(">II", 0x1C849304, len(body)) + body).decode()


def _payload(lowest: int = 1, highest: int = 3_600_000_000, digits: int = 3) -> bytes:
    return struct.pack(">IIIIQQd", 0x1C849303, 0, 0, digits, lowest, highest, 1.0)


def _fifo(name: str) -> Damage:
    def damage(folder: Path) -> None:
        (folder / name).unlink()
        os.mkfifo(folder / name)

    return damage


def _device(name: str) -> Damage:
    def damage(folder: Path) -> None:
        (folder / name).unlink()
        (folder / name).symlink_to("/dev/zero")

    return damage


DAMAGES: dict[str, tuple[Damage, str, str]] = {
    "nan": (
        _text("summary.json", '{"endpoints": {}, "duration_s": NaN}'),
        "summary.json",
        "NaN is not a number JSON allows",
    ),
    "infinity": (
        _text("summary.json", '{"endpoints": {}, "duration_s": 1e999}'),
        "summary.json",
        "beyond the range",
    ),
    "deep-summary": (_text("summary.json", "[" * 100_000), "summary.json", "nested too deeply"),
    "deep-histograms": (
        _text("histograms.json", '{"endpoints": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        "histograms.json",
        "nested too deeply",
    ),
    "bad-base64": (
        _edit("histograms.json", _first_histogram("HISTF!!!not base64")),
        "histograms.json",
        "invalid base64",
    ),
    "bad-zlib": (
        _edit("histograms.json", _first_histogram(_encoded(b"not zlib", compress=False))),
        "histograms.json",
        "invalid zlib data",
    ),
    "zlib-bomb": (
        _edit("histograms.json", _first_histogram(_encoded(_payload() + bytes(50_000_000)))),
        "histograms.json",
        "inflates to over",
    ),
    "other-range": (
        _edit("histograms.json", _first_histogram(_encoded(_payload(highest=2**62)))),
        "histograms.json",
        "not a dvcload histogram",
    ),
    "missing-histogram": (
        _edit("histograms.json", _first_histogram(None)),
        "histograms.json",
        "no 'histogram'",
    ),
    "missing-duration": (
        _edit("summary.json", lambda d: d.pop("duration_s")),
        "summary.json",
        "no 'duration_s'",
    ),
    "wrong-type": (
        _edit("summary.json", lambda d: d.update(duration_s="10 s")),
        "summary.json",
        "duration_s: '10 s' is not a number",
    ),
    "endpoints-a-list": (
        _edit("summary.json", lambda d: d.update(endpoints=[1, 2])),
        "summary.json",
        "endpoints: [1, 2] is not an object",
    ),
    "audit-text": (
        _edit("summary.json", lambda d: d.update(audit={"double_charges": "many"})),
        "summary.json",
        "audit.double_charges: 'many' is not a whole number",
    ),
    "manifest-not-object": (_text("manifest.json", "[]"), "manifest.json", "is not an object"),
    "summary-fifo": (_fifo("summary.json"), "summary.json", "is a FIFO"),
    "histograms-device": (_device("histograms.json"), "histograms.json", "character device"),
}


@pytest.fixture(params=list(DAMAGES))
def damaged(request: pytest.FixtureRequest, make_run: MakeRun) -> tuple[Path, str, str]:
    damage, name, fragment = DAMAGES[request.param]
    folder = make_run("damaged")
    damage(folder)
    return folder, name, fragment


def _refused(action: Callable[[], object], file: Path, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        action()
    message = str(info.value)
    assert message.startswith(f"{file}"), message
    assert fragment in message, message
    assert "\n" not in message and len(message) < len(str(file)) + 200, message


def test_a_damaged_run_is_a_config_error_naming_the_file(
    damaged: tuple[Path, str, str], make_run: MakeRun
) -> None:
    folder, name, fragment = damaged
    _refused(lambda: evaluate_gate(folder, BUDGETS), folder / name, fragment)


def test_a_damaged_baseline_is_a_config_error_naming_the_file(
    damaged: tuple[Path, str, str], make_run: MakeRun
) -> None:
    folder, name, fragment = damaged
    good = make_run("good")
    _refused(lambda: evaluate_gate(good, BUDGETS, baseline=folder), folder / name, fragment)


def test_report_and_calibrate_refuse_a_damaged_folder_too(make_run: MakeRun) -> None:
    folder = make_run("damaged")
    DAMAGES["bad-zlib"][0](folder)
    _refused(lambda: write_report(folder), folder / "histograms.json", "invalid zlib data")
    DAMAGES["nan"][0](folder)
    _refused(lambda: calibrate_runs([folder]), folder / "summary.json", "NaN")


@pytest.mark.parametrize(
    ("line", "fragment"),
    [('{"t_start": 0, "t_end": NaN}', "NaN"),
     ('{"t_start": 0}', "no 't_end'"),
     ('{"t_start": 0, "t_end": 5, "endpoints": {"GET /x": {"histogram": "@@"}}}', "base64"),
     ("[" * 100_000, "nested too deeply")],
)  # fmt: skip
def test_a_damaged_interval_row_names_its_line(make_run: MakeRun, line: str, fragment: str) -> None:
    folder = make_run("damaged")
    path = folder / "histograms_intervals.jsonl"
    rows = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([rows[0], line, *rows[1:]]) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=fragment) as info:
        write_report(folder)
    assert str(info.value).startswith(f"{path}:2:")


def test_a_torn_last_interval_row_is_still_skipped(make_run: MakeRun) -> None:
    folder = make_run("torn")
    path = folder / "histograms_intervals.jsonl"
    path.write_text(path.read_text(encoding="utf-8") + '{"t_start": 1', encoding="utf-8")
    assert write_report(folder).is_file()


def test_the_undamaged_folder_reads(make_run: MakeRun) -> None:
    folder = make_run("good")
    run = RunFolder.open(folder)
    assert run.endpoints and run.duration_s > 0
    assert evaluate_gate(folder, BUDGETS).passed


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("NaN", "NaN"), ("-Infinity", "-Infinity"), ("[1e400]", "beyond"), ("9" * 5000, "JSON"),
     ("{", "JSON")],
)  # fmt: skip
def test_strict_json_refuses_what_is_not_json(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        loads(text, source="f.json")
