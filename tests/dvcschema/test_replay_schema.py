"""``load: {model: replay}`` in scenario files: its keys, its one-line errors, and the
bounded look at the log that validation takes."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from refusal import ENTRIES, assert_refused_in_one_line

from dvcschema.errors import ScenarioError
from dvcschema.load import ReplayLoad
from dvcschema.replay import HEAD_LINES
from dvcschema.scenario import load_scenario, scenario_from_data
from dvcschema.settings import Overrides, apply_settings

LINE = (
    '10.0.0.{ip} - - [31/Mar/2025:08:{m:02d}:{s:02d} +0700] "{method} {path} HTTP/1.1" 200 5 '
    '"-" "UA"'
)


def _log_text(minutes: int = 10, method: str = "GET") -> str:
    """One request every 10 s for ``minutes`` minutes, from 08:00:00."""
    return "".join(
        LINE.format(ip=i % 7, m=i // 6, s=10 * (i % 6), method=method, path=f"/hs/{i}") + "\n"
        for i in range(minutes * 6)
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "access.log").write_text(_log_text(), encoding="utf-8")
    return tmp_path


def _scenario(folder: Path, load: str, extra: str = "") -> object:
    path = folder / "s.yaml"
    path.write_text(f"name: r\ntarget: embedded\nload: {load}\n{extra}", encoding="utf-8")
    return load_scenario(path)


def _error(folder: Path, load: str, extra: str = "") -> str:
    with pytest.raises(ScenarioError) as caught:
        _scenario(folder, load, extra)
    text = str(caught.value)
    assert "\n" not in text and text.startswith(str(folder / "s.yaml")), text
    return text


def test_a_replay_has_defaults_and_lasts_its_window_at_its_speed(folder: Path) -> None:
    s = _scenario(folder, "{model: replay, log: access.log, speed: 60}")
    load = s.load  # type: ignore[attr-defined]
    assert isinstance(load, ReplayLoad)
    assert (load.scale, load.jitter_s, load.methods) == (1.0, 1.0, ("GET", "HEAD"))
    assert (load.max_concurrency, load.session, load.format) == (1000, "ip+ua", "auto")
    assert load.logs == ((folder / "access.log").resolve(),)
    # the log's requests span 08:00:00 to 08:09:50, its last second lasting one: 591 s
    assert s.duration_s == pytest.approx(591 / 60)  # type: ignore[attr-defined]
    # copies start up to ``jitter`` later, so a scale above 1 lasts that much longer
    s2 = _scenario(folder, "{model: replay, log: access.log, speed: 60, scale: 2}")
    assert s2.duration_s == pytest.approx(592 / 60)  # type: ignore[attr-defined]


def test_a_window_sets_the_length_and_the_scenario_round_trips(folder: Path) -> None:
    s = _scenario(
        folder,
        "{model: replay, log: access.log, speed: 2, scale: 1.5, start_at: 2m, length: 5m,"
        " methods: [get, HEAD, OPTIONS], jitter: 500ms, session: ip, fields: {time: ts},"
        " routes: ['^/hs/[0-9]+$=/hs/{n}'], max_concurrency: 20, max_request_rate: 50}",
    )
    load = s.load  # type: ignore[attr-defined]
    assert s.duration_s == pytest.approx((300 + 0.5) / 2)  # type: ignore[attr-defined]
    assert load.methods == ("GET", "HEAD", "OPTIONS") and load.session == "ip"
    data = s.as_dict()  # type: ignore[attr-defined]
    assert "mix" not in data and "journeys" not in data  # a replay runs no journeys
    source = data.pop("source")
    again = scenario_from_data(data, source=source)  # as a worker loads it
    assert again.as_dict() == {**data, "source": source}


@pytest.mark.parametrize(
    ("load", "fragment"),
    [
        ("{model: replay}", "required field 'load.log' is missing"),
        ("{model: replay, log: nope.log}", "load.log: no such file"),
        ("{model: replay, log: sub}", "is a folder"),
        ("{model: replay, log: [access.log, access.log]}", "listed twice"),
        ("{model: replay, log: []}", "an empty list"),
        ("{model: replay, log: access.log, speed: 0}", "load.speed: 0 is out of range"),
        ("{model: replay, log: access.log, speed: -2}", "out of range"),
        ("{model: replay, log: access.log, speed: fast}", "is not a number"),
        ("{model: replay, log: access.log, scale: -1}", "load.scale: -1 is out of range"),
        ("{model: replay, log: access.log, scale: 0}", "0 replays nothing"),
        ("{model: replay, log: access.log, scale: 101}", "out of range"),
        ("{model: replay, log: access.log, methods: [POST]}", "'POST' is not a safe method"),
        ("{model: replay, log: access.log, methods: ['G ET']}", "not an HTTP method token"),
        ("{model: replay, log: access.log, methods: GET}", "is not a list of methods"),
        ("{model: replay, log: access.log, methods: []}", "is not a list of methods"),
        ("{model: replay, log: access.log, format: xml}", "options are auto, combined, jsonl"),
        ("{model: replay, log: access.log, session: 'cookie:'}", "is not ip+ua, ip, cookie"),
        ("{model: replay, log: access.log, session: 'cookie:sid'}", "load.session: a combined"),
        ("{model: replay, log: access.log, fields: {bogus: x}}", "unknown field 'bogus'"),
        ("{model: replay, log: access.log, routes: [nope]}", "is not REGEX=TEMPLATE"),
        ("{model: replay, log: access.log, jitter: 2h}", "too long"),
        ("{model: replay, log: access.log, jitter: 5}", "load.jitter"),
        ("{model: replay, log: access.log, start_at: 11m}", "after the log's last request"),
        ("{model: replay, log: access.log, length: 11m}", "after its last"),
        ("{model: replay, log: access.log, start_at: 8m, length: 3m}", "shorten length"),
        ("{model: replay, log: access.log, speed: 0.001}", "would last over 24h"),
        ("{model: replay, log: access.log, max_concurrency: 0}", "out of range"),
        ("{model: replay, log: access.log, max_request_rate: 0}", "out of range"),
        ("{model: replay, log: access.log, think_time: 1s}", "unknown key 'think_time'"),
        ("{model: replay, log: access.log, rate: {constant: 1}}", "unknown key 'rate'"),
        ("{model: replays, log: access.log}", "options are closed, open, replay"),
    ],
)
def test_a_bad_replay_key_is_one_located_line(folder: Path, load: str, fragment: str) -> None:
    (folder / "sub").mkdir()
    assert fragment in _error(folder, load)


@pytest.mark.parametrize(
    "extra",
    ["mix: {journeys: {browse: 1}}\n", "journeys: {module: x.py}\n", "session: {steps: []}\n"],
)
def test_journeys_next_to_a_replay_are_refused_not_ignored(folder: Path, extra: str) -> None:
    assert "a replay (load.model: replay) sends the log's requests" in _error(
        folder, "{model: replay, log: access.log}", extra
    )


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "is empty; a log with no request cannot be replayed"),
        (b"\n\n  \n", "is empty"),
        (b"not a log line 001203004567\n" * 5, "none of its lines parses as a combined log"),
        (b"\x00\xff\xfe binary \x00\n" * 50, "none of its lines parses"),
        (b'{"msg": "no request here"}\n' * 5, "none of its lines parses as a jsonl log"),
    ],
    ids=["empty", "blank", "garbage", "binary", "json-without-requests"],
)
def test_a_log_without_a_parsable_line_is_refused(
    folder: Path, content: bytes, fragment: str
) -> None:
    (folder / "bad.log").write_bytes(content)
    text = _error(folder, "{model: replay, log: bad.log}")
    assert fragment in text
    assert "001203004567" not in text  # an example line is shown masked


def test_validation_reads_only_the_head_of_a_log(folder: Path) -> None:
    """A log whose first lines do not parse is refused from its head alone; one whose
    head and tail parse is accepted whatever its middle holds (read at run setup)."""
    garbage = b"garbage\n" * (HEAD_LINES + 5)
    (folder / "late.log").write_bytes(garbage + _log_text().encode())
    assert f"none of the first {HEAD_LINES:,} of its lines" in _error(
        folder, "{model: replay, log: late.log}"
    )
    text = _log_text(minutes=40).splitlines(keepends=True)
    middle = "".join(text[:200]) + "garbage\n" * HEAD_LINES * 2 + "".join(text[200:])
    (folder / "middle.log").write_text(middle, encoding="utf-8")
    s = _scenario(folder, "{model: replay, log: middle.log}")
    assert s.load.span.last_t - s.load.span.first_t == 40 * 60 - 10  # type: ignore[attr-defined]


def test_a_gzipped_log_needs_a_duration_or_a_length(folder: Path) -> None:
    with gzip.open(folder / "a.log.gz", "wt", encoding="utf-8") as handle:
        handle.write(_log_text())
    assert "give 'duration'" in _error(folder, "{model: replay, log: a.log.gz}")
    assert _scenario(folder, "{model: replay, log: a.log.gz}", "duration: 30s").duration_s == 30
    s = _scenario(folder, "{model: replay, log: a.log.gz, length: 5m, speed: 10}")
    assert s.duration_s == pytest.approx(30.0)  # type: ignore[attr-defined]
    (folder / "cut.log.gz").write_bytes((folder / "a.log.gz").read_bytes()[:12])
    assert "the gzip stream ends before its first line" in _error(
        folder, "{model: replay, log: cut.log.gz}", "duration: 30s"
    )


def test_other_models_overrides_do_not_apply_to_a_replay(folder: Path) -> None:
    s = _scenario(folder, "{model: replay, log: access.log}")
    for overrides in (Overrides(users=5), Overrides(arrival_rate=5.0)):
        with pytest.raises(ScenarioError, match="does not apply to a replay"):
            apply_settings(s, overrides)  # type: ignore[arg-type]
    shorter = apply_settings(s, Overrides(duration="60s"))  # type: ignore[arg-type]
    assert shorter.duration_s == 60
    with pytest.raises(ScenarioError, match="longer than the scenario's load"):
        apply_settings(s, Overrides(duration="20m"))  # type: ignore[arg-type]


@pytest.mark.parametrize("entry", ENTRIES)
def test_what_does_not_run_a_replay_says_so_in_one_line(
    folder: Path, dvcload_cmd: list[str], repo: Path, entry: str
) -> None:
    (folder / "s.yaml").write_text("name: r\nload: {model: replay, log: access.log}\n")
    assert_refused_in_one_line(entry, folder / "s.yaml", dvcload_cmd, repo)
