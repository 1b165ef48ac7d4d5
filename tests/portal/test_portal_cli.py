"""The portal's command line and launcher: exit codes, loopback rule, clean-up,
graceful stop, and the population file.

Refusals call ``portal.cli.main`` in-process (a ``python -m portal`` start-up costs
about a second of imports; binding the socket fails the test instead of serving); both
entry points, ``python -m portal`` and ``python -m dvcload portal``, also run as real
processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from inprocess import run_main
from portal_client import Api

import portal.cli
import portal.server
from dvcschema.errors import ConfigError, RunError
from portal.launcher import EmbeddedPortal

REPO = Path(__file__).resolve().parents[2]


PORTAL_CMD = [sys.executable, "-m", "portal"]


def _run(cmd: list[str], timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def _portal_main(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> subprocess.CompletedProcess[str]:
    """``python -m portal ARGS`` in-process, in the repository, for a refusal: binding
    the portal's socket fails instead of serving."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the portal would have started")

    monkeypatch.setattr(portal.server, "bind_socket", refuse)
    return run_main(args, cwd=REPO, main=portal.cli.main)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--host", "0.0.0.0"], "--host: '0.0.0.0' is not a loopback address"),
        (["--host", "example.org"], "is not a loopback address"),
        (["--servers", "0"], "--servers: '0' is out of range"),
        (["--config", "no/such/file.yaml"], "no/such/file.yaml: no such file"),
        (["--port", "70000"], "--port: '70000' is out of range"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    needle: str,
) -> None:
    result = _portal_main(capsys, monkeypatch, *args)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dvcload portal: error: ")
    assert needle in lines[0]


def test_dvcload_portal_refuses_non_loopback_with_exit_2(dvcload_cmd: list[str]) -> None:
    result = _run([*dvcload_cmd, "portal", "--host", "10.0.0.1"])
    assert result.returncode == 2
    assert "not a loopback address" in result.stderr
    assert "Traceback" not in result.stderr


def test_argument_errors_exit_2(dvcload_cmd: list[str]) -> None:
    assert _run([*PORTAL_CMD, "--servers", "many"]).returncode == 2
    assert _run([*dvcload_cmd, "portal", "--port", "x"]).returncode == 2


def test_bad_config_file_reports_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("tiers:\n  web: {servers: 2, queue_limit: 10, speed: 3}\n", encoding="utf-8")
    result = _portal_main(capsys, monkeypatch, "--config", str(config))
    assert result.returncode == 2
    assert f"{config}:2: tiers.web: unknown key 'speed'" in result.stderr
    with pytest.raises(ConfigError, match=rf"^{config}:2: tiers.web: unknown key 'speed'"):
        EmbeddedPortal(config).start()


def test_dvcload_portal_serves_and_stops_gracefully_on_sigterm(
    tmp_path: Path, dvcload_cmd: list[str]
) -> None:
    log = tmp_path / "access.jsonl"
    process = subprocess.Popen(
        [*dvcload_cmd, "portal", "--port", "0", "--access-log", str(log)],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("dvcload portal listening on http://127.0.0.1:")
        url = line.strip().rsplit(" ", 1)[1]
        assert Api(url).get("/services").status == 200
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [r["endpoint"] for r in records if r["endpoint"] != "/health"] == ["/services"]


def test_launcher_stops_its_child_even_when_the_block_raises(tmp_path: Path) -> None:
    database = tmp_path / "kept.sqlite"
    with pytest.raises(RuntimeError, match="boom"), EmbeddedPortal(database=database) as portal:
        pid = portal.pid or 0
        assert _alive(pid)
        assert portal.url.startswith("http://127.0.0.1:")
        raise RuntimeError("boom")
    assert portal.process is not None and portal.process.returncode == 0  # graceful
    assert not _alive(pid)
    assert database.exists()  # --database files are kept


def test_launcher_default_database_is_temporary(tmp_path: Path) -> None:
    with EmbeddedPortal() as portal:
        api = Api(portal.url)
        token = api.login("001203000001")
        assert token
        pid = portal.pid
        temp_dirs = [Path("/proc") / str(pid) / "fd" / fd for fd in os.listdir(f"/proc/{pid}/fd")]
        open_files = {os.path.realpath(p) for p in temp_dirs}
    database = next(p for p in open_files if p.endswith("portal.sqlite"))
    assert not Path(database).exists()


def test_launcher_raises_run_error_and_kills_a_child_that_is_not_ready_in_time() -> None:
    portal = EmbeddedPortal(ready_timeout_s=0.05)
    with pytest.raises(RunError, match=r"did not report ready within 0\.05 s"):
        portal.start()
    assert portal.process is not None and portal.process.returncode is not None
    assert not _alive(portal.process.pid)


def test_launcher_reports_an_unusable_database_as_config_error(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder.sqlite"
    folder.mkdir()
    with pytest.raises(ConfigError, match=r"a-folder\.sqlite' exists and is not a regular file"):
        EmbeddedPortal(database=folder).start()


# -- population ---------------------------------------------------------------------------
POPULATION_CSV = """\
cccd,full_name,vneid_level,gender
001203000111,Nguyễn Văn An,2,male
079305000222,Trần Thị Hạnh,1,female
001190000333,Lê Văn Bình,0,male
"""


def test_population_decides_who_logs_in_and_their_level(tmp_path: Path) -> None:
    population = tmp_path / "population.csv"
    population.write_text(POPULATION_CSV, encoding="utf-8")
    with EmbeddedPortal(population=population) as portal:
        api = Api(portal.url)
        an = api.post("/auth/login", json_body={"cccd": "001203000111", "passcode": "000000"})
        hanh = api.post("/auth/login", json_body={"cccd": "079305000222", "passcode": "000000"})
        binh = api.post("/auth/login", json_body={"cccd": "001190000333", "passcode": "000000"})
        stranger = api.post("/auth/login", json_body={"cccd": "001203999999", "passcode": "000000"})
    assert (an.status, an.body["identification_level"], an.body["full_name"]) == (
        200,
        2,
        "Nguyễn Văn An",
    )
    assert (hanh.status, hanh.body["identification_level"]) == (200, 1)
    assert binh.status == 401  # no activated VNeID account
    assert (stranger.status, stranger.body["field"]) == (401, "cccd")


def test_population_in_json_lines_is_loaded(tmp_path: Path) -> None:
    population = tmp_path / "population.jsonl"
    rows = [{"cccd": "001203000111", "full_name": "Nguyễn Văn An", "vneid_level": 2}]
    population.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with EmbeddedPortal(population=population) as portal:
        answer = Api(portal.url).post(
            "/auth/login", json_body={"cccd": "001203000111", "passcode": "123456"}
        )
    assert answer.body["full_name"] == "Nguyễn Văn An"


def test_malformed_population_stops_the_launch_with_a_config_error(tmp_path: Path) -> None:
    population = tmp_path / "p.csv"
    population.write_text(POPULATION_CSV.replace(",1,female", ",3,female"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        EmbeddedPortal(population=population).start()
    assert str(caught.value) == (
        f"{population}:3: vneid_level: '3' is not allowed; options are 0, 1, 2"
    )


def test_command_line_overrides_reach_the_running_portal(tmp_path: Path) -> None:
    config = tmp_path / "fixed.yaml"
    config.write_text(
        "tiers:\n  web: {servers: 1, queue_limit: 10}\n"
        "default_endpoint:\n  web: {dist: deterministic, mean_ms: 5}\n",
        encoding="utf-8",
    )
    log = tmp_path / "access.jsonl"
    with EmbeddedPortal(config, servers=3, service_time_ms=40, access_log=log) as portal:
        api = Api(portal.url)
        assert api.get("/health").body["tiers"]["web"]["servers"] == 3
        assert api.get("/services").status == 200
    (record,) = [json.loads(x) for x in log.read_text("utf-8").splitlines() if "/services" in x]
    assert record["service_ms"] == pytest.approx(40, abs=5)


def test_portal_stops_when_its_stdin_closes() -> None:
    process = subprocess.Popen(
        [*PORTAL_CMD, "--port", "0", "--stop-on-stdin-close"],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None and process.stdin is not None
        assert process.stdout.readline().startswith(b"dvcload portal listening on ")
        process.stdin.close()
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stdout is not None
        process.stdout.close()
