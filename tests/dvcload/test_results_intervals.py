"""The interval file during a run: flushes append, the end rewrites, a torn tail is
skipped by the reader (a process killed mid-append)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from analysis.timeseries import _rows
from dvcload.run_writer import IntervalsFile
from dvcschema import results
from dvcschema.errors import ConfigError


def _writer(folder: Path) -> IntervalsFile:
    return IntervalsFile(folder / results.INTERVALS)


def _row(i: int) -> dict[str, Any]:
    return {"t_start": float(i), "t_end": float(i + 1), "endpoints": {}}


def test_flushes_append_only_new_rows_and_the_end_rewrites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer, path = _writer(tmp_path), tmp_path / "histograms_intervals.jsonl"
    appended: list[int] = []
    real_append = results.append_jsonl

    def counting_append(p: Path, rows: Any) -> None:
        rows = list(rows)
        appended.append(len(rows))
        real_append(p, rows)

    monkeypatch.setattr("dvcschema.results.append_jsonl", counting_append)
    rows = [_row(0), _row(1)]
    writer.write(rows, rewrite=False)  # first flush: a whole write
    rows += [_row(2)]
    writer.write(rows, rewrite=False)
    rows += [_row(3), _row(4)]
    writer.write(rows, rewrite=False)
    assert appended == [1, 2]
    assert _rows(path) == rows
    path.write_text(path.read_text() + '{"t_start": 5')  # as if torn, then the final write
    writer.write(rows, rewrite=True)
    assert _rows(path) == rows and path.read_text().endswith("}\n")


def test_after_a_failed_flush_the_next_one_rewrites_instead_of_duplicating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer, path = _writer(tmp_path), tmp_path / "histograms_intervals.jsonl"
    rows = [_row(0)]
    writer.write(rows, rewrite=False)

    def failing_append(p: Path, rows: Any) -> None:
        with p.open("a") as handle:
            handle.write(json.dumps(_row(1))[:9])  # half a line, then the disk is full
        raise OSError("No space left on device")

    monkeypatch.setattr("dvcschema.results.append_jsonl", failing_append)
    rows += [_row(1)]
    with pytest.raises(OSError):
        writer.write(rows, rewrite=False)
    monkeypatch.undo()
    rows += [_row(2)]
    writer.write(rows, rewrite=False)
    assert _rows(path) == rows


def test_the_reader_skips_a_torn_last_line_but_not_a_bad_line_inside(tmp_path: Path) -> None:
    path = tmp_path / "histograms_intervals.jsonl"
    good = [json.dumps(_row(0)), json.dumps(_row(1))]
    path.write_text("\n".join([*good, '{"t_start": 2.0, "t_e']) + "\n")
    assert _rows(path) == [_row(0), _row(1)]
    path.write_text("\n".join([good[0], "{not json", good[1]]) + "\n")
    with pytest.raises(ConfigError, match=f"{path}:2: not valid JSON"):  # exit code 2
        _rows(path)
