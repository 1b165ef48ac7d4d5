"""Published worked examples, reproduced to their printed precision (half a unit
in the last printed place).

Each test names its source. "PDQ" values are the printed outputs of the example
models shipped with Gunther's Pretty Damn Quick analyser (repository
DrQz/pdq-qnm-pkg, examples for *The Practical Performance Analyst*, 1998, and
*Analyzing Computer System Performance with Perl::PDQ*); textbook values are as
printed in the books (and, for Gross & Harris Example 4.2, as quoted in PDQ's
``examples/MultiServer/gross_te42.py``).
"""

from __future__ import annotations

import pytest

from models import (
    FiniteSource,
    JacksonNetwork,
    MMc,
    erlang_b,
    erlang_c,
    littles_law,
    mva,
    schweitzer,
    utilization,
)


def test_pdq_closed1_exact_mva_matches_printed_report() -> None:
    # PDQ, Gunther (1998) ch. 2, examples/Book PPA 1998/chap2/closed1.out:
    # one CPU, demand 0.63 s, 100 terminals, think time 300 s, solution EXACT.
    r = mva([0.63], users=100, think_time=300.0)
    assert r.throughput == pytest.approx(0.3325, abs=5e-5)
    assert r.response_time == pytest.approx(0.7943, abs=5e-5)
    assert r.queue_lengths[0] == pytest.approx(0.2641, abs=5e-5)
    assert 100 * r.utilizations[0] == pytest.approx(20.9445, abs=5e-5)


def test_pdq_closed_queue_approx_schweitzer_matches_printed_report() -> None:
    # PDQ, Gunther (1998) ch. 3, java/examples/Ch3_Closed.out: N=3, D=0.1 s, Z=0.1 s,
    # "Solution Method: APPROX (Iterations: 5; Accuracy: 0.1000%)": X=8.7857,
    # R=0.2415, Q=2.1214. PDQ stops when no queue length moves by 0.1 % of N.
    r = schweitzer([0.1], users=3, think_time=0.1, tol=1e-3 / 3)
    assert r.iterations == 5
    assert r.throughput == pytest.approx(8.7857, abs=5e-5)
    assert r.response_time == pytest.approx(0.2415, abs=5e-5)
    assert r.queue_lengths[0] == pytest.approx(2.1214, abs=5e-5)
    converged = schweitzer([0.1], users=3, think_time=0.1)
    assert converged.throughput == pytest.approx(r.throughput, rel=2e-4)


def test_pdq_open1_mm1_matches_printed_report() -> None:
    # PDQ, Gunther (1998) ch. 2, examples/ppa_1998/chap2/open1.out: lambda=0.75/s,
    # S=1 s: response 4.0000 s, queue length 3.0000, utilisation 75.0000 %.
    q = MMc(arrival_rate=0.75, service_rate=1.0, servers=1)
    assert q.mean_response == pytest.approx(4.0, abs=5e-5)
    assert q.mean_in_system == pytest.approx(3.0, abs=5e-5)
    assert 100 * q.utilization == pytest.approx(75.0, abs=5e-5)


def test_pdq_simple_series_tandem_matches_printed_report() -> None:
    # PDQ, Gunther (1998) ch. 3, examples/ppa_1998/chap3/simple_series.out:
    # three M/M/1 centres in series, lambda=0.1/s, S=1, 2, 3 s.
    net = JacksonNetwork(
        [0.1, 0, 0], [[0, 1, 0], [0, 0, 1], [0, 0, 0]], [1.0, 0.5, 1 / 3], [1, 1, 1]
    )
    assert net.mean_response == pytest.approx(7.8968, abs=5e-5)
    assert net.residence_times == pytest.approx([1.1111, 2.5, 4.2857], abs=5e-5)
    assert net.mean_in_station == pytest.approx([0.1111, 0.25, 0.4286], abs=5e-5)


def test_pdq_feedback_jackson_matches_printed_report() -> None:
    # PDQ, Gunther (1998) ch. 3, examples/ppa_1998/chap3/feedback.out: one channel,
    # lambda=0.5/s, S=0.75 s, 30 % of messages return: visits 1.4286, response
    # 2.3077 s, queue length 1.1538, utilisation 53.5714 %, waiting time 1.2363 s.
    net = JacksonNetwork([0.5], [[0.3]], [1 / 0.75], [1])
    assert net.visit_ratios[0] == pytest.approx(1.4286, abs=5e-5)
    assert net.mean_response == pytest.approx(2.3077, abs=5e-5)
    assert net.mean_in_station[0] == pytest.approx(1.1538, abs=5e-5)
    assert 100 * net.utilizations[0] == pytest.approx(53.5714, abs=5e-5)
    assert net.visit_ratios[0] * net.stations[0].mean_wait == pytest.approx(1.2363, abs=5e-5)


def test_gross_harris_example_4_2_jackson_network() -> None:
    # Gross & Harris (1998), Fundamentals of Queueing Theory, 3rd ed., Example 4.2,
    # p. 181: 35 calls/h; station 1 M/M/1 (0.5 min), 2 M/M/3 (6 min), 3 M/M/7
    # (20 min); routing 1->2 0.55, 1->3 0.45, 2->3 0.02, 3->2 0.01.
    # Printed L = 0.412, 2.706, 6.781 (as quoted in PDQ's gross_te42.py).
    net = JacksonNetwork(
        [35 / 60, 0, 0],
        [[0, 0.55, 0.45], [0, 0, 0.02], [0, 0.01, 0]],
        [1 / 0.5, 1 / 6, 1 / 20],
        [1, 3, 7],
    )
    assert net.mean_in_station == pytest.approx([0.412, 2.706, 6.781], abs=5e-4)


def test_gross_et_al_mmc_example_page_72() -> None:
    # Gross, Shortle, Thompson & Harris (2008), Fundamentals of Queueing Theory, 4th
    # ed., M/M/c example on p. 72: lambda=6/h, mu=3/h, c=3: p0 = 1/9 and
    # W = 0.4815 h (28.9 min).
    q = MMc(arrival_rate=6.0, service_rate=3.0, servers=3)
    a, c, rho = q.offered_load, 3, q.utilization
    p0 = q.prob_wait * 6 * (1 - rho) / a**c  # C = p0 a^c / (c! (1 - rho))
    assert p0 == pytest.approx(1 / 9, abs=1e-12)
    assert q.mean_response == pytest.approx(0.4815, abs=5e-5)
    assert 60 * q.mean_response == pytest.approx(28.9, abs=0.05)


def test_pdq_repairman_mm3_8_8_matches_printed_report() -> None:
    # PDQ, Gunther (1998) ch. 3, php/examples/ppa_1998/chap3/
    # repairfunc_3_1.2_8_12.5_out.txt: M/M/3/8/8 repair model, 8 machines, MTTF
    # 12.5, service 1.2: utilisation 0.7003 (0.2334 per server), L 0.7052,
    # Lq 0.0049, W 0.0084, X 0.5836, R 1.2084, normalised R 1.0070.
    q = FiniteSource(sources=8, think_time_s=12.5, service_time_s=1.2, servers=3)
    assert 3 * q.utilization == pytest.approx(0.7003, abs=5e-5)
    assert q.utilization == pytest.approx(0.2334, abs=5e-5)
    assert q.mean_in_system == pytest.approx(0.7052, abs=5e-5)
    assert q.mean_queue_length == pytest.approx(0.0049, abs=5e-5)
    assert q.mean_wait == pytest.approx(0.0084, abs=5e-5)
    assert q.throughput == pytest.approx(0.5836, abs=5e-5)
    assert q.mean_response == pytest.approx(1.2084, abs=5e-5)
    assert q.mean_response / 1.2 == pytest.approx(1.0070, abs=5e-5)


def test_pdq_erlang_b_three_servers_ten_erlangs() -> None:
    # PDQ, Gunther (1998) ch. 2, examples/ppa_1998/chap2/erlang_3_10.out:
    # "Erlang B (loss prob): 0.73206" for 3 servers and 10 erlangs.
    assert erlang_b(3, 10.0) == pytest.approx(0.73206, abs=5e-6)
    assert erlang_b(3, 10.0, method="recursion") == pytest.approx(0.73206, abs=5e-6)


def test_jain_example_31_1_mm1_gateway() -> None:
    # Jain (1991), The Art of Computer Systems Performance Analysis, Example 31.1:
    # gateway, 125 packets/s, 2 ms each: utilisation 0.25, mean number 0.33, mean
    # response 2.67 ms; P(more than 13 in the gateway) = rho**13 = 1.49e-8.
    q = MMc(arrival_rate=125.0, service_rate=500.0, servers=1)
    assert q.utilization == pytest.approx(0.25)
    assert utilization(125.0, 0.002) == pytest.approx(0.25)
    assert q.mean_in_system == pytest.approx(0.33, abs=5e-3)
    assert 1000 * q.mean_response == pytest.approx(2.67, abs=5e-3)
    assert littles_law(arrival_rate=125.0, time_in_system_s=q.mean_response) == pytest.approx(
        q.mean_in_system
    )
    assert q.utilization**13 == pytest.approx(1.49e-8, abs=5e-11)
    # Erlang C for one server is rho: the gateway's probability of queueing.
    assert erlang_c(1, 0.25) == pytest.approx(0.25)
