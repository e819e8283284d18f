"""Every bad input, end to end: the real CLI against a live app, which must not notice a thing.

Each case runs `bluegreen` in a subprocess and checks the documented exit code, one clear
message naming the key or value, no traceback, and then that the live app is untouched: the
rendered nginx files, state.json, history and lock byte for byte, the slot and nginx pids, and
a request through nginx still answered by v1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from bluegreen_local.cli.app import app
from hostile.corpus import BAD_CLI, BAD_CONFIG, CONFIG, USAGE, Case
from hostile.support import Live

pytestmark = pytest.mark.nginx

ALL = BAD_CONFIG + BAD_CLI


def substitute(text: str, live: Live) -> str:
    project = live.project
    for token, value in (("<blue>", project.ports[0]), ("<green>", project.ports[1]),
                         ("<listen>", project.listen_port), ("<config>", project.config),
                         ("<root>", project.root)):
        text = text.replace(token, str(value))
    return text


def flat(text: str) -> str:
    """The words of a message, with the parser's box drawing and line wrapping removed."""
    return " ".join(text.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


def prepare(case: Case, live: Live) -> tuple[list[str], dict[str, str]]:
    """Write the case's bad config; return its argv and environment."""
    config = live.project.config
    if case.edit is not None:
        bad = case.edit(live.good_config)
        if isinstance(bad, str):
            config.write_text(substitute(bad, live), encoding="utf-8")
        else:
            config.write_bytes(bad)
    if case.file_mode is not None:
        config.chmod(case.file_mode)
    if case.file_owner is not None:
        os.chown(config, case.file_owner, case.file_owner)
    args = [substitute(arg, live) for arg in case.args]
    if case.json:
        args.append("--json")
    if case.config_flag:
        args += ["-c", str(config)]
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("BLUEGREEN_CONFIG", None)
    env.update({key: substitute(value, live) for key, value in case.env})
    return [sys.executable, "-m", "bluegreen_local", *args], env


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in ALL])
def test_bad_input_is_refused_and_changes_nothing(live: Live, case: Case) -> None:
    if case.root_only and os.geteuid() != 0:
        pytest.skip("only root refuses a config file others can change")
    argv, env = prepare(case, live)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, errors="replace", env=env,
                              cwd=live.project.root, timeout=60, check=False)
    finally:
        live.restore()
    expected = substitute(case.message, live)
    assert done.returncode == case.code, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert flat(expected) in flat(done.stderr), done.stderr
    assert len(done.stderr) < 2000, "a bad value must be shown shortened, not echoed whole"
    assert "\x1b" not in done.stderr, "control characters must be shown escaped"
    if case.by_click:
        assert done.stderr.count("Error") == 1
    else:
        assert done.stderr.startswith("error: ") and done.stderr.count("error: ") == 1
        assert (" problems:\n" not in done.stderr) is case.single, done.stderr
    if case.json:
        document = json.loads(done.stdout)
        assert document["ok"] is False and document["exit_code"] == case.code
        assert expected in document["error"]
    live.assert_untouched()


def test_the_corpus_is_big_and_covers_both_exit_codes() -> None:
    assert len(ALL) >= 60
    assert len({case.name for case in ALL}) == len(ALL)
    assert {case.code for case in BAD_CONFIG} == {CONFIG}
    assert {case.code for case in BAD_CLI} == {USAGE}


# -- what a shell cannot pass --------------------------------------------------------------------


def test_a_nul_byte_cannot_reach_argv(live: Live) -> None:
    # execve() takes C strings, so no program, ours included, can be given a NUL in argv:
    # Python refuses before the exec, and so does every shell.
    with pytest.raises(ValueError, match="embedded null byte"):
        subprocess.run([sys.executable, "-m", "bluegreen_local", "deploy", "v2\x00x"],
                       check=False)
    live.assert_untouched()


@pytest.mark.parametrize("version", ["v2\x00", "\x00", "v2\x00;id"])
def test_a_nul_byte_in_a_version_is_refused_in_process(live: Live, version: str) -> None:
    # Callers that skip execve (tests, a Python wrapper) can pass one; it is a usage error.
    result = CliRunner().invoke(app, ["deploy", version, "-c", str(live.project.config)])
    assert result.exit_code == 2
    assert f"invalid version {version!r}" in result.stderr
    assert not isinstance(result.exception, ValueError | TypeError)
    live.assert_untouched()


def test_a_low_port_is_refused_when_not_root(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    # A subprocess cannot drop to another user here (the interpreter lives under /root), so
    # the CLI runs in-process with a non-root effective uid.
    good = live.good_config
    live.project.config.write_text(good.replace(f"ports = [{live.project.ports[0]},",
                                                "ports = [80,"), encoding="utf-8")
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    try:
        result = CliRunner().invoke(app, ["deploy", "v2", "-c", str(live.project.config)])
    finally:
        monkeypatch.undo()
        live.restore()
    assert result.exit_code == 3
    assert "app.ports[0]: port 80 is below 1024 and needs root; pick a port >= 1024" \
        in result.stderr
    live.assert_untouched()


def test_the_good_config_still_deploys_nothing_new(live: Live) -> None:
    # The control: the restored config is accepted, and v1 is already live, so nothing moves.
    done = live.project.cli("deploy", "v1", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["changed"] is False
    live.assert_untouched(locked=True)


def test_cases_edit_one_thing(live: Live) -> None:
    # A case that broke the config in two places would not prove which key is refused.
    for case in BAD_CONFIG:
        if case.edit is None or not case.single:
            continue
        bad = case.edit(live.good_config)
        if isinstance(bad, str):
            changed = set(bad.splitlines()) ^ set(live.good_config.splitlines())
            assert len(changed) <= 3, (case.name, changed)

