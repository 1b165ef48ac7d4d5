"""Hostile values in configuration files: alias bombs, huge numbers, non-ASCII digits,
values that are not files. Each is one short located line, found quickly."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml

from dvcschema.budgets import load_budgets_file, parse_expression
from dvcschema.capacity_inputs import parse_amount
from dvcschema.errors import MAX_LINE_CHARS, ConfigError
from dvcschema.scenario import load_scenario
from dvcschema.units import parse_duration_s, parse_fraction, parse_number
from dvcschema.yamlio import parse_yaml

BASE = "name: demo\ntarget: embedded\nduration: 10s\n"


def alias_bomb(levels: int, indent: str = "  ") -> str:
    """YAML for "billion laughs": ``a`` has 9 x's, each next key 9 aliases of the last."""
    lines = [f"{indent}a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(levels):
        name, last = chr(98 + i), chr(97 + i)
        lines.append(f"{indent}{name}: &{name} [{', '.join([f'*{last}'] * 9)}]")
    return "\n".join(lines) + "\n"


RUNAWAY_S = 30.0


def _load_quickly(path: Path) -> str:
    """Refused on one short line; the time limit only catches a runaway (an exponential
    expansion takes minutes): the 5 s budget is measured by tests/fuzz/test_fuzz_hostile."""
    started = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert time.perf_counter() - started < RUNAWAY_S
    message = str(info.value)
    assert "\n" not in message and len(message) <= MAX_LINE_CHARS, message
    return message


@pytest.mark.parametrize(
    "field",
    ["load:\n  users", "seed", "target", "duration", "budgets:\n  total", "population:\n  size"],
)
def test_an_alias_bomb_as_a_value_is_refused_quickly_on_one_short_line(
    tmp_path: Path, field: str
) -> None:
    last = chr(97 + 9)
    text = f"name: bomb\njunk:\n{alias_bomb(9)}{field}: *{last}\n"
    if "load" not in field:
        text += "load:\n  users: 1\n"
    path = tmp_path / "bomb.yaml"
    path.write_text(text, encoding="utf-8")
    message = _load_quickly(path)
    assert "anchors and aliases" in message
    assert message.startswith(f"{path}:3:")  # the first anchor


@pytest.fixture(params=["libyaml", "pure-python"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both loaders: libyaml's (C composer, events checked first) and PyYAML's own."""
    if request.param == "pure-python":
        monkeypatch.setattr(yaml, "__with_libyaml__", False)
    return str(request.param)


@pytest.mark.parametrize(
    ("text", "line"),
    [("a: &x 1\n", 1), ("a: {b: 1}\nc:\n  <<: *a\n", 3), ("a: [1]\nb: &list\n  - 2\n", 2)],
)
def test_anchors_and_aliases_are_refused_by_both_loaders(parser: str, text: str, line: int) -> None:
    with pytest.raises(ConfigError, match=f"f.yaml:{line}: invalid YAML: anchors and aliases"):
        parse_yaml(text, "f.yaml")


@pytest.mark.parametrize("text", ["a: !!str 1\n", "a: !!python/object:os.system {}\n", "a: !x 1\n"])
def test_explicit_tags_are_refused_by_both_loaders(parser: str, text: str) -> None:
    with pytest.raises(ConfigError, match="is not allowed; write plain values"):
        parse_yaml(text, "f.yaml")


def test_both_loaders_read_the_same_lines_and_refuse_duplicates(parser: str) -> None:
    data = parse_yaml("a:\n  <<: {b: 1}\n  c: [2, 3]\n", "f.yaml")
    assert data == {"a": {"b": 1, "c": [2, 3]}}
    assert data.lines == {"a": 1} and data["a"].lines == {"b": 2, "c": 3}
    with pytest.raises(ConfigError, match=r"f\.yaml:2: invalid YAML: duplicate key 'a'"):
        parse_yaml("a: 1\na: 2\n", "f.yaml")


def test_no_shipped_file_uses_anchors(repo: Path) -> None:
    for path in [*repo.glob("scenarios/*.yaml"), *repo.glob("portal/configs/*.yaml")]:
        parse_yaml(path.read_text(encoding="utf-8"), str(path))


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("9" * 5000, "a number too large to read"),  # int() refuses 4,300+ digits
        ("0x" + "f" * 5000, "about 6020 digits> is out of range"),  # a hex int is read
        ("[" + "x, " * 200_000 + "x]", "is not a whole number"),
        ("'" + "y" * 1_000_000 + "'", "is not a whole number"),
    ],
    ids=["decimal-digits", "hex-digits", "long-list", "long-text"],
)
def test_huge_values_are_one_short_line(tmp_path: Path, value: str, fragment: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(f"{BASE}seed: {value}\nload:\n  users: 1\n", encoding="utf-8")
    assert fragment in _load_quickly(path)


def test_huge_ints_are_out_of_range_not_a_crash() -> None:
    with pytest.raises(ValueError, match="out of range"):
        parse_number(16**5000)
    with pytest.raises(ValueError, match="is not a percentage"):
        parse_fraction(10**400)
    with pytest.raises(ValueError, match="out of range"):
        parse_amount(10**400)


@pytest.mark.parametrize("text", ["١٠s", "۱۰s", "१०s", "１０s", "10s١"])
def test_durations_take_ascii_digits_only(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration_s(text)


@pytest.mark.parametrize("expression", ["p٩٥ < 800ms", "p95 < ٨٠٠ms", "error_rate < ١%",
                                        "rps > ٥٠", "dropped < ١٠٠"])  # fmt: skip
def test_budget_expressions_take_ascii_digits_only(expression: str) -> None:
    with pytest.raises(ValueError):
        parse_expression(expression)


def test_a_budget_expression_of_a_megabyte_is_one_short_line(tmp_path: Path) -> None:
    path = tmp_path / "budgets.yaml"
    path.write_text(f'budgets:\n  "*": ["p95 < {"9" * 1_000_000}"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_budgets_file(path)
    message = str(info.value)  # the file, the field, the expression and the value, shortened
    assert len(message) < len(str(path)) + MAX_LINE_CHARS and "\n" not in message


@pytest.mark.parametrize("device", ["/dev/zero", "fifo"])
def test_a_scenario_or_budgets_path_that_is_not_a_file_is_refused(
    tmp_path: Path, device: str
) -> None:
    path = Path(device)
    if device == "fifo":
        path = tmp_path / "fifo.yaml"
        os.mkfifo(path)
    for load in (load_scenario, load_budgets_file):
        with pytest.raises(ConfigError, match="expected a regular file"):
            load(path)


@pytest.mark.parametrize(
    ("counts", "fragment"),
    [("t,count\n0,١٠\n", "count '١٠' is not a number"),
     ("t,count\n0,1_000\n", "is not a number"),
     ("t,count\n0,nan\n", "is not a number")],
)  # fmt: skip
def test_rate_csv_counts_are_ascii_numbers(tmp_path: Path, counts: str, fragment: str) -> None:
    (tmp_path / "counts.csv").write_text(counts, encoding="utf-8")
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: csv\nload:\n  model: open\n  max_concurrency: 5\n"
        "  rate: {csv: {file: counts.csv, interval: 10s}}\n",
        encoding="utf-8",
    )
    assert fragment in _load_quickly(path)


def test_a_rate_csv_that_is_a_fifo_is_refused_at_its_line(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "counts.csv")
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: csv\nload:\n  model: open\n  max_concurrency: 5\n"
        "  rate: {csv: {file: counts.csv, interval: 10s}}\n",
        encoding="utf-8",
    )
    message = _load_quickly(path)
    assert message.startswith(f"{path}:5: load.rate.csv.file:"), message
    assert "is a FIFO" in message
