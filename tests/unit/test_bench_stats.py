"""The bench's pure parts: the Poisson interval, the target verdicts, pace.lua's records."""

from __future__ import annotations

import math

import pytest

from bench import targets
from bench.attribution import phase_of, place
from bench.contenders import Deploy
from bench.load import Record, parse
from bench.stats import garwood, poisson_cdf, rate


@pytest.mark.parametrize(("k", "low", "high"), [
    (0, 0.0, 3.689), (1, 0.0253, 5.572), (10, 4.795, 18.39), (30, 20.24, 42.83),
])
def test_garwood_matches_the_chi_square_tables(k: int, low: float, high: float) -> None:
    found = garwood(k)
    assert found[0] == pytest.approx(low, abs=1e-3, rel=5e-4)
    assert found[1] == pytest.approx(high, rel=5e-4)


def test_garwood_of_a_large_count_is_near_the_normal_interval() -> None:
    low, high = garwood(700)
    assert low == pytest.approx(700 - 1.96 * math.sqrt(700), rel=0.01)
    assert high == pytest.approx(700 + 1.96 * math.sqrt(700), rel=0.01)


def test_poisson_cdf_known_values() -> None:
    assert poisson_cdf(0, 1.0) == pytest.approx(math.exp(-1))
    assert poisson_cdf(2, 2.0) == pytest.approx(5 * math.exp(-2))
    assert poisson_cdf(-1, 2.0) == 0.0
    assert poisson_cdf(3, 0.0) == 1.0


def test_rate_scales_the_interval_by_the_trials() -> None:
    per = rate(10, 50)
    assert per.value == pytest.approx(0.2)
    assert (per.low, per.high) == pytest.approx((4.795 / 50, 18.39 / 50), rel=5e-4)
    assert str(per) == "0.20 (0.10-0.37)"
    with pytest.raises(ValueError, match="trial"):
        rate(1, 0)


@pytest.mark.parametrize(("ours", "control", "met"), [
    (30, 31, True),  # the same loss as the control
    (45, 30, True),  # more, but inside the control's noise
    (70, 30, False),  # intervals apart: more than noise
    (0, 40, True),  # wholly below the control: better, not worse
])
def test_keepalive_failures_missed_only_when_wholly_above(ours: int, control: int,
                                                          met: bool) -> None:
    target = targets.keepalive_failures_target(ours, 50, control, 50)
    assert target.met is met
    assert f"{ours} over 50 deploys" in target.measured


def test_switch_is_judged_against_the_fastest_confirmation() -> None:
    floors = {"own socket, raw socket": 0.020, "shared socket, httpx": 0.035}
    met = targets.switch_target(0.030, floors)
    assert met.met
    assert "20 ms (own socket, raw socket) = 1.50x" in met.measured
    assert "shared socket, httpx: 35 ms" in met.measured
    assert not targets.switch_target(0.031, floors).met


def test_window_p99_against_the_control() -> None:
    assert targets.window_target("close", 0.012, 0.010).met
    missed = targets.window_target("keepalive", 0.0121, 0.010)
    assert not missed.met
    assert "(keepalive)" in missed.name
    assert "1.21x" in missed.measured
    assert not targets.window_target("close", 0.010, math.nan).met


def test_cold_start_reports_the_interpreter_beside_it() -> None:
    status = [0.140, 0.150, 0.300]
    interpreter = [0.020, 0.030, 0.030]
    target = targets.cold_target(status, interpreter)
    assert target.met  # the median, 150 ms
    assert "150 ms median; `python -c pass` 30 ms" in target.measured
    assert "ratio 7.00x" in target.measured  # run-by-run ratios 7, 5, 10
    assert not targets.cold_target([0.151], [0.020]).met


def test_paired_ratio_pairs_runs_in_order() -> None:
    assert targets.paired_ratio([2.0, 9.0, 4.0], [1.0, 3.0, 1.0]) == 3.0
    assert math.isnan(targets.paired_ratio([], []))


PACE_OUTPUT = """\
# connect=0 read=3 write=0 timeout=0 status=1
100.5 0.004 200 127.0.0.1:7001,127.0.0.1:7002 812 1 0.001,0.002
100.6 0.001 502 - 812 7 -
100.7 -1 200
100.8 nan 0
"""


def test_pace_output_is_read_with_what_nginx_said_about_each_answer() -> None:
    errors, records, unmatched = parse(PACE_OUTPUT)
    assert errors == {"connect": 0, "read": 3, "write": 0, "timeout": 0, "status": 1}
    assert unmatched == 1
    retried, refused, lost = records
    assert (retried.sent, retried.latency, retried.status) == (100.5, 0.004, 200)
    assert (retried.upstream, retried.tries, retried.worker, retried.conn_seq) == (7002, 2, 812, 1)
    assert retried.upstream_time == pytest.approx(0.003)
    assert (refused.upstream, refused.tries, refused.worker, refused.conn_seq) == (0, 0, 812, 7)
    assert math.isnan(refused.upstream_time)
    assert lost.failure() == "no answer"


def test_a_window_request_is_placed_in_the_phase_it_was_sent_in() -> None:
    deploy = Deploy("bluegreen deploy", "close", 0.0, 2.0, (1.0, 1.6),
                    phases=(("switch", 1.1), ("drain", 1.5), ("stop", 1.6)),
                    old_workers=frozenset({10}), ports=(7001, 7002))
    assert phase_of(deploy, 1.2) == ("drain", 1.1)
    early = place(deploy, Record(0.9, 0.2, 200, 7001, 1, 10, 1))
    assert (early.phase, early.since, early.old_port, early.old_worker) == (
        "switch", 0.0, True, True)
    late = place(deploy, Record(1.55, 0.01, 200, 7002, 1, 11, 3), 4)
    assert (late.phase, late.old_port, late.old_worker, late.deploy) == ("stop", False, False, 4)
    assert late.since == pytest.approx(0.05)
    assert late.after_exit == pytest.approx(1.56 - 1.6)  # no drain: the window's end
