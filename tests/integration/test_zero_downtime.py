"""The product's promise, measured: no request fails while deploys run under load."""

from __future__ import annotations

import pytest
from loadgen import Load, LoadStats

from integration.support import Project

pytestmark = [pytest.mark.nginx, pytest.mark.slow]

DEPLOYS = 20
THREADS = 4


def _deploys_under_load(project: Project, *, keepalive: bool) -> tuple[LoadStats, list[str]]:
    project.cli_json("deploy", "v0")
    versions = [f"v{i}" for i in range(1, DEPLOYS + 1)]
    with Load("127.0.0.1", project.listen_port, threads=THREADS, keepalive=keepalive,
              max_seconds=240) as load:
        load.wait_for(50)
        for version in versions:
            result = project.cli_json("deploy", version)
            assert result["changed"] is True and result["drain_timed_out"] is False
        stats = load.stop()
    return stats, versions


def test_connection_close_clients_see_zero_failures(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    stats, versions = _deploys_under_load(project, keepalive=False)
    with capsys.disabled():
        print(f"\n{DEPLOYS} deploys, Connection: close: {stats.sent} requests, "
              f"{stats.failed} failed {dict(stats.failures)}")
    assert stats.sent > DEPLOYS * 20, "the load must really run during the deploys"
    assert stats.failed == 0, dict(stats.failures)
    # Traffic really moved through every version, ending on the last one.
    assert set(versions[:-1]) <= set(stats.versions) | {versions[0]}
    assert project.serve() == (200, f"hello from {versions[-1]}\n")


def test_keepalive_clients_errors_are_counted(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reload closes idle client keep-alive connections (nginx's own race, see DESIGN.md).

    A request sent on such a socket at that instant fails, and nginx logs nothing; the
    count is reported here, not hidden. What must hold: no non-2xx answer ever, and the
    failures are only of that kind (a closed or reset connection), and at most one per client
    connection per reload.
    """
    stats, _ = _deploys_under_load(project, keepalive=True)
    with capsys.disabled():
        print(f"\n{DEPLOYS} deploys, keep-alive: {stats.sent} requests, "
              f"{stats.failed} failed {dict(stats.failures)}")
    assert stats.sent > DEPLOYS * 20
    assert not [kind for kind in stats.failures if kind.startswith("HTTP")], stats.failures
    assert set(stats.failures) <= {"closed by peer", "reset"}, stats.failures
    assert stats.failed <= THREADS * DEPLOYS, stats.failures
