"""``dvcload population``: files written, arguments refused in one line with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dvcload.cli import main
from loadgen.export import read_population


def test_population_command_writes_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "people.csv"
    assert main(["population", "--size", "500", "--seed", "3", "--out", str(out)]) == 0
    assert len(read_population(out)) == 500
    assert "wrote 500 citizens" in capsys.readouterr().out


def test_population_command_writes_jsonl_partition(tmp_path: Path) -> None:
    out = tmp_path / "part.jsonl"
    assert (
        main(
            ["population", "--size", "1000", "--seed", "3", "--partition", "3/4", "--out", str(out)]
        )
        == 0
    )
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 250
    whole = tmp_path / "whole.jsonl"
    assert main(["population", "--size", "1000", "--seed", "3", "--out", str(whole)]) == 0
    assert whole.read_text(encoding="utf-8").splitlines()[750:] == lines
    assert json.loads(lines[0])["vneid_level"] in (1, 2)


def test_partitions_of_the_command_never_share_an_id(tmp_path: Path) -> None:
    seen: set[str] = set()
    for k in range(4):
        out = tmp_path / f"p{k}.csv"
        assert (
            main(
                [
                    "population",
                    "--size",
                    "4001",
                    "--seed",
                    "8",
                    "--partition",
                    f"{k}/4",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        ids = set(read_population(out).column("cccd"))
        assert not ids & seen
        seen |= ids
    assert len(seen) == 4001


def exit_code(argv: list[str]) -> int:
    """``main(argv)``, or the code of the SystemExit that argparse raises."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--size", "0"], "--size: '0' is out of range; allowed: 1 to 50000000"),
        (["--size", "50000001"], "--size: '50000001' is out of range; allowed: 1 to 50000000"),
        (["--size", "ten"], "argument --size: 'ten' is not a whole number"),
        (["--seed", "-5"], "--seed: '-5' is out of range; allowed: 0 to"),
        (
            ["--partition", "5/4"],
            "--partition: '5/4' is not valid; allowed: K/N with K counted from 0 and 0 <= K < N",
        ),
        (["--partition", "4/4"], "allowed: K/N with K counted from 0"),
        (["--partition", "1/0"], "allowed: K/N with K counted from 0"),
        (["--partition", "-1/4"], "allowed: K/N with K counted from 0"),
        (["--partition", "1of4"], "allowed: K/N with K counted from 0"),
        (
            ["--size", "3", "--partition", "0/4"],
            "4 partitions of 3 citizens would leave some empty",
        ),
        (["--out", "people.xlsx"], "unknown extension '.xlsx'; use one of .csv, .jsonl"),
        (["--out", "no/such/folder/people.csv"], "--out: folder 'no/such/folder' does not exist"),
    ],
)
def test_population_command_refuses_bad_arguments(
    arguments: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    options = {"--size": "100", "--seed": "1", "--out": "people.csv"}
    options |= dict(zip(arguments[::2], arguments[1::2], strict=True))
    assert exit_code(["population", *(f"{flag}={value}" for flag, value in options.items())]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not list(tmp_path.iterdir())


def test_population_help_documents_zero_based_partitions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["population", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "K counted from 0" in text and ".csv or .jsonl" in text
