"""make test's runner (tests/shards.py): files dealt out evenly, every one run once,
failures and "no tests" reported as pytest would."""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from shards import (
    NO_TESTS,
    TOGETHER,
    WAITING_LANE_MIN_S,
    WAITING_MIN_S,
    combined,
    deal,
    read_durations,
    run_shards,
    waits,
    write_durations,
)
from shards import test_files as suite_files  # not a test

FILE_SECONDS = st.dictionaries(
    st.from_regex(r"tests/[a-z]{1,6}/test_[a-z]{1,6}\.py", fullmatch=True),
    st.floats(min_value=0.0, max_value=100.0),
    min_size=1,
    max_size=40,
)


@given(FILE_SECONDS, st.integers(min_value=1, max_value=6))
def test_every_file_goes_to_one_shard_and_none_is_overloaded(
    seconds: dict[str, float], jobs: int
) -> None:
    shards = deal(list(seconds), seconds, jobs)
    dealt = [f for shard in shards for f in shard]
    assert sorted(dealt) == sorted(seconds)  # each file once
    assert 1 <= len(shards) <= jobs and all(shards)  # no empty process
    loads = [sum(seconds[f] for f in shard) for shard in shards]
    # Graham (1966): a shard taking the least loaded's turn ends by the mean plus the
    # longest file.
    assert max(loads) <= sum(seconds.values()) / jobs + max(seconds.values()) + 1e-9


@settings(max_examples=40)  # each example tries up to 3^6 splits
@given(st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=6),
       st.integers(min_value=2, max_value=3))  # fmt: skip
def test_the_longest_shard_is_within_4_3_of_the_best_split(times: list[int], jobs: int) -> None:
    """Graham (1969): longest-first is within 4/3 - 1/(3 jobs) of the best split (found
    here by trying every one)."""
    seconds = {f"t{i}.py": float(t) for i, t in enumerate(times)}
    loads = [sum(seconds[f] for f in shard) for shard in deal(list(seconds), seconds, jobs)]
    best = min(
        max(sum(t for t, k in zip(times, split, strict=True) if k == j) for j in range(jobs))
        for split in itertools.product(range(jobs), repeat=len(times))
    )
    assert max(loads) <= (4 / 3 - 1 / (3 * jobs)) * best + 1e-9


def test_a_file_without_a_figure_weighs_the_median() -> None:
    seconds = {"a.py": 10.0, "b.py": 1.0, "c.py": 1.0}
    shards = deal(["a.py", "b.py", "c.py", "new.py"], seconds, 2)
    assert shards == [["a.py"], ["b.py", "c.py", "new.py"]]  # 10 against 1 + 1 + 1


def test_files_sharing_a_session_fixture_go_to_one_process() -> None:
    seconds = {"a.py": 10.0, "b.py": 9.0, "c.py": 8.0, "d.py": 1.0}
    shards = deal(list(seconds), seconds, 2, together=(("b.py", "c.py"),))
    assert sorted(shards) == [["a.py", "d.py"], ["b.py", "c.py"]]  # 10 + 1 against 9 + 8
    assert all(f in suite_files() for group in TOGETHER for f in group)  # no stale name


def test_files_that_mostly_wait_get_a_process_of_their_own() -> None:
    seconds = {"cpu.py": 100.0, "wait.py": 60.0, "busy.py": 40.0, "also.py": 40.0,
               "idle.py": 20.0, "blip.py": 8.0, "new.py": 5.0}  # fmt: skip
    cpu = {"cpu.py": 95.0, "wait.py": 10.0, "busy.py": 35.0, "also.py": 30.0, "idle.py": 1.0,
           "blip.py": 0.0}  # fmt: skip
    shards = deal(list(seconds), seconds, 2, cpu=cpu)
    # wait.py and idle.py wait (10 CPU s in 60 s, 1 in 20); blip.py too, but 8 s are too
    # few to say; new.py has no CPU figure. The other 193 s: 100 against 40 + 40 + 8 + 5.
    assert shards == [["cpu.py"], ["also.py", "blip.py", "busy.py", "new.py"],
                      ["idle.py", "wait.py"]]  # fmt: skip
    assert waits(["wait.py"], seconds, cpu) and waits(["idle.py"], seconds, cpu)
    assert not waits(["blip.py"], seconds, cpu) and not waits(["new.py"], seconds, cpu)
    assert not waits(["busy.py"], seconds, cpu)
    assert deal(list(seconds), seconds, 1, cpu=cpu) == [sorted(seconds)]  # one process
    # A waiting lane of less than WAITING_LANE_MIN_S is not worth its process.
    alone = {"cpu.py": 100.0, "idle.py": 20.0, "also.py": 40.0}
    assert len(deal(list(alone), alone, 2, cpu=cpu)) == 2


@given(FILE_SECONDS, st.data(), st.integers(min_value=2, max_value=4))
def test_the_waiting_process_is_no_longer_than_the_others(
    seconds: dict[str, float], data: st.DataObject, jobs: int
) -> None:
    cpu = {f: data.draw(st.floats(min_value=0.0, max_value=1.0)) * s for f, s in seconds.items()}
    shards = deal(list(seconds), seconds, jobs, cpu=cpu)
    assert sorted(f for shard in shards for f in shard) == sorted(seconds)  # each file once
    waiting = [s for s in shards if all(waits([f], seconds, cpu) for f in s)]
    if len(shards) == jobs + 1:  # the last one waits, and is at most the others' mean
        assert shards[-1] in waiting
        loads = [sum(seconds[f] for f in shard) for shard in shards]
        assert loads[-1] <= sum(loads[:-1]) / jobs + 1e-9
        assert all(seconds[f] >= WAITING_MIN_S for f in shards[-1])
        assert loads[-1] >= WAITING_LANE_MIN_S
    else:
        assert len(shards) <= jobs


def test_durations_are_read_as_written_and_old_figures_still_read(tmp_path: Path) -> None:
    path = tmp_path / "durations.json"
    write_durations({"tests/b.py": {"seconds": 2.5, "cpu_seconds": 0.5},
                     "tests/a.py": {"seconds": 1.0, "cpu_seconds": 1.0}}, path)  # fmt: skip
    assert path.read_text().splitlines()[1].startswith(' "tests/a.py": {"seconds": 1.0')
    assert read_durations(path) == ({"tests/a.py": 1.0, "tests/b.py": 2.5},
                                    {"tests/a.py": 1.0, "tests/b.py": 0.5})  # fmt: skip
    path.write_text('{"tests/a.py": 3.5}')  # seconds only: the CPU is unknown
    assert read_durations(path) == ({"tests/a.py": 3.5}, {})
    assert read_durations(tmp_path / "none.json") == ({}, {})


def test_the_suite_is_dealt_whole() -> None:
    files = suite_files()
    assert "tests/test_shards.py" in files and "tests/shards.py" not in files
    assert sorted(f for s in deal(files, {}, 3, TOGETHER) for f in s) == files


def test_the_run_fails_on_any_failure_and_on_no_tests_only_when_no_shard_ran_one() -> None:
    assert combined([0, 0]) == 0
    assert combined([0, 1]) == 1
    assert combined([NO_TESTS, 0]) == 0  # a -k that leaves one shard nothing
    assert combined([NO_TESTS, NO_TESTS]) == NO_TESTS
    assert combined([NO_TESTS, 2, 1]) == 2  # the first failure's code


def test_shards_run_at_once_each_with_its_own_files_and_log(tmp_path: Path) -> None:
    (tmp_path / "test_a.py").write_text("def test_a():\n    assert True\n")
    (tmp_path / "test_b.py").write_text("def test_b():\n    assert 1 + 1 == 3\n")
    (tmp_path / "test_c.py").write_text("def test_c():\n    pass\n")
    work = tmp_path / "work"
    work.mkdir()
    codes = run_shards([["test_a.py", "test_c.py"], ["test_b.py"]], ["-q"], work, cwd=tmp_path)
    assert codes == [0, 1]
    assert "2 passed" in (work / "shard-0.log").read_text()
    assert "1 failed" in (work / "shard-1.log").read_text()
    narrowed = run_shards([["test_a.py"], ["test_c.py"]], ["-q", "-k", "test_a"], work, tmp_path)
    assert narrowed == [0, NO_TESTS] and combined(narrowed) == 0
    assert combined(codes) == 1
