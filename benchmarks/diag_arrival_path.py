"""Where an open-model arrival's time goes, from its due time to the portal's stamp.

``python -m benchmarks.diag_arrival_path RATE SECONDS`` (sessions/s, run length)

A diagnostic, not a benchmark (``python -m benchmarks`` does not run it): one
``dvcload run`` in this process (open model, browse sessions, the spare-capacity
portal config of the arrivals benchmark), with four clocks added by wrapping the
generator's own functions:

- *due*: the arrival's intended time (the dispatcher's ticket);
- *offer*: when the dispatcher handed it to a session user;
- *send*: when the user called ``login()``;
- *wire*: when the login's bytes went to the socket (``sendall``);

and the portal's own stamp of the login (its access log). For each clock it prints the
gaps' CV and the KS test against the exponential, the lateness between consecutive
clocks, the arrivals more than 4 ms late and when the 5-second flushes ran, the
portal's CPU during the steady part of the load, and the KS test of the due times plus
the same per-arrival lateness shuffled across arrivals (a lateness independent of the
arrivals keeps them Poisson; only a lateness tied to them, such as a minimum spacing,
bends the gaps). Matching is by order (logins leave in arrival order to within a few
arrivals), which is enough for these distributions.
"""

from __future__ import annotations

import itertools
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from numpy.typing import NDArray
from scipy import stats

from benchmarks.bench_arrivals import CONFIG, SCENARIO
from dvcschema import results, routes

LATE_S = 0.004
SHOWN_LATE = 20


def _instrument(clocks: dict[str, list[float]]) -> None:
    import gevent.socket

    import dvcload.run_writer
    import loadgen.arrivals
    import loadgen.users

    dispatcher_init = loadgen.arrivals.Dispatcher.__init__

    def init(self: Any, arrivals: Any, offer: Any, **kwargs: Any) -> None:
        def timed_offer(ticket: Any) -> bool:
            clocks["due"].append(ticket.intended_at)
            clocks["offer"].append(time.time())
            return bool(offer(ticket))

        dispatcher_init(self, arrivals, timed_offer, **kwargs)

    open_session = loadgen.users.CitizenUser.open_session

    def timed_login(user: Any, visit: Any) -> bool:
        clocks["send"].append(time.time())
        return bool(open_session(user, visit))

    sendall = gevent.socket.socket.sendall

    def timed_sendall(sock: Any, data: Any, flags: int = 0) -> Any:
        if bytes(data[:16]).startswith(routes.LOGIN.key.encode()):
            clocks["wire"].append(time.time())
        return sendall(sock, data, flags)

    flush = dvcload.run_writer.ResultsWriter.flush

    def timed_flush(writer: Any, load: Any) -> None:
        began = time.time()
        flush(writer, load)
        clocks["flushes"].extend([began, time.time()])

    loadgen.arrivals.Dispatcher.__init__ = init  # type: ignore[method-assign]
    loadgen.users.CitizenUser.open_session = timed_login  # type: ignore[method-assign,assignment]
    gevent.socket.socket.sendall = timed_sendall
    dvcload.run_writer.ResultsWriter.flush = timed_flush  # type: ignore[method-assign,assignment]


def _sample_portal_cpu(series: list[tuple[float, float]], stop: threading.Event) -> None:
    me = psutil.Process()
    while not stop.wait(0.5):
        for child in me.children(recursive=True):
            try:
                if "portal" in " ".join(child.cmdline()):
                    series.append((time.time(), sum(child.cpu_times()[:2])))
            except psutil.Error:
                pass


def _describe(name: str, t: NDArray[np.float64]) -> None:
    gaps = np.diff(np.sort(t))
    ks = stats.kstest(gaps, "expon", args=(0, gaps.mean())).pvalue
    print(f"  {name:7} n={len(t):5d}  gap CV {gaps.std() / gaps.mean():.3f}  KS p {ks:.2g}")


def main(rate: int, seconds: int) -> None:
    clocks: dict[str, list[float]] = {k: [] for k in ("due", "offer", "send", "wire", "flushes")}
    _instrument(clocks)
    series: list[tuple[float, float]] = []
    stop = threading.Event()
    threading.Thread(target=_sample_portal_cpu, args=(series, stop), daemon=True).start()
    from dvcload.cli import main as dvcload_main

    with tempfile.TemporaryDirectory(prefix="diag-arrivals-") as tmp:
        path = Path(tmp) / "diag.yaml"
        path.write_text(SCENARIO.format(seed=rate, duration=seconds, config=CONFIG, rate=rate))
        dvcload_main(["run", str(path), "--out", tmp, "--quiet"])
        stop.set()
        folder = next(p for p in Path(tmp).iterdir() if p.is_dir())
        summary = json.loads((folder / results.SUMMARY).read_text())
        with (folder / results.PORTAL_ACCESS_LOG).open() as handle:
            records = [json.loads(line) for line in handle]
    portal = np.sort([r["t_arrival"] for r in records if r["endpoint"] == routes.LOGIN.template])
    t = {k: np.sort(np.array(v)) for k, v in clocks.items() if k != "flushes"}
    t["portal"] = portal
    n = min(len(v) for v in t.values())
    print(f"{rate}/s for {seconds} s, one generator process:")
    for name, values in t.items():
        _describe(name, values)
    print("lateness between clocks (ms):")
    names = list(t)
    for earlier, later in itertools.pairwise(names):
        d = (t[later][:n] - t[earlier][:n]) * 1e3
        print(
            f"  {later + '-' + earlier:12} p50 {np.median(d):6.3f}  sd {d.std():6.3f}  "
            f"p99 {np.percentile(d, 99):6.3f}  max {d.max():6.2f}"
        )
    due, offer = np.array(clocks["due"]), np.array(clocks["offer"])
    late = offer - due > LATE_S
    print(
        f"{late.sum()} arrivals handed over > {LATE_S * 1e3:g} ms late; the first "
        f"{SHOWN_LATE} at (s into the run, ms late):"
    )
    pairs = zip(due[late] - due[0], (offer - due)[late] * 1e3, strict=True)
    print("  ", [(round(float(a), 3), round(float(b), 1)) for a, b in pairs][:SHOWN_LATE])
    print(
        "  flushes ran (s into the run):", [round(float(x - due[0]), 3) for x in clocks["flushes"]]
    )
    lateness = portal[:n] - t["due"][:n]
    shuffled = t["due"][:n] + np.random.default_rng(0).permutation(lateness)
    _describe("shuffled", shuffled)
    steady = [(w, c) for w, c in series if due[0] + 3 < w < due[-1] - 2]
    if len(steady) >= 2:
        share = (steady[-1][1] - steady[0][1]) / (steady[-1][0] - steady[0][0])
        print(f"portal CPU in the steady load: {100 * share:.0f}% of a core; ", end="")
    print(
        f"generator CPU: {summary['generator']['cpu_percent']}%; "
        f"{len(records) / seconds:.0f} requests/s at the portal"
    )


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) != 2 or not all(a.isdigit() and int(a) > 0 for a in args):
        print("usage: python -m benchmarks.diag_arrival_path RATE SECONDS (whole numbers > 0)",
              file=sys.stderr)  # fmt: skip
        raise SystemExit(2)
    main(int(args[0]), int(args[1]))
