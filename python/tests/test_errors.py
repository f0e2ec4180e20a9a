"""ScenarioError: every problem with its place, str() the program's message; other errors as
Python's; Ctrl-C; progress."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import trajectoire as t

BAD = textwrap.dedent(
    """\
    [territory]
    id = "bad"
    population = -1000
    horizon = 24

    [[actor]]
    id = "inhabitants"
    engagment = 0.1
    fatigue = 2.5
    """
)


def test_scenario_error_has_every_problem_where_it_is(tmp_path, cli):
    path = tmp_path / "bad.toml"
    path.write_text(BAD)
    with pytest.raises(t.ScenarioError) as caught:
        t.run(path)
    e = caught.value
    assert isinstance(e, ValueError)
    done = cli("run", path, check=False)
    assert done.returncode == 1
    assert str(e) == done.stderr
    assert len(e.problems) >= 2
    places = {(p.line, p.column) for p in e.problems}
    assert (8, 1) in places  # the misspelt key
    assert (3, 14) in places  # the negative population
    assert all(p.file == str(path) for p in e.problems)
    assert any(p.help and "engagement" in p.help for p in e.problems)
    assert all(p.message for p in e.problems)
    # check raises the same
    with pytest.raises(t.ScenarioError) as again:
        t.check(path)
    assert str(again.value) == cli("check", path, check=False).stderr
    # and it pickles with its problems (EMA's multiprocessing evaluator)
    back = pickle.loads(pickle.dumps(e))
    assert back.problems == e.problems and str(back) == str(e)


def test_bad_arguments_are_scenario_errors(scenarios, cli):
    path = scenarios / "grande-synthe.toml"
    with pytest.raises(t.ScenarioError) as caught:
        t.run(path, set={"lever.narative.intensity": 1})
    done = cli("run", path, "--set", "lever.narative.intensity=1", check=False)
    assert str(caught.value) == done.stderr
    assert caught.value.problems
    with pytest.raises(t.ScenarioError) as caught:
        t.run(path, threads=0)
    assert "--threads 0" in str(caught.value)
    assert caught.value.problems[0].message
    with pytest.raises(t.ScenarioError):
        t.sweep(path, vary={"lever.narrative.intensity": "zero..two"})
    with pytest.raises(t.ScenarioError):
        t.test(path, expect="perpetuation@end >>= 0.9")


def test_missing_file_is_a_file_not_found_error(tmp_path, cli):
    missing = tmp_path / "missing.toml"
    with pytest.raises(FileNotFoundError) as caught:
        t.run(missing)
    assert isinstance(caught.value, t.ScenarioError)
    assert str(caught.value) == cli("run", missing, check=False).stderr
    assert caught.value.problems[0].file == str(missing)


def test_unwritable_output_is_an_os_error(scenarios, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    results = t.run(scenarios / "malaunay.toml", runs=50)
    with pytest.raises(OSError):
        results.write(blocker / "sub", plots=False)


CTRL_C = textwrap.dedent(
    """\
    import sys, time, trajectoire
    print("ready", flush=True)
    try:
        trajectoire.run(sys.argv[1], runs=10_000_000, allow_long=True)
    except KeyboardInterrupt:
        print("interrupted", time.monotonic(), flush=True)
    """
)


def test_ctrl_c_raises_keyboard_interrupt_within_a_second(scenarios):
    proc = subprocess.Popen(
        [sys.executable, "-c", CTRL_C, str(scenarios / "malaunay.toml")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(1.5)  # well inside the simulation
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    word, when = out.split()
    assert word == "interrupted"
    assert float(when) - sent < 1.0
    assert proc.returncode == 0


def test_ctrl_c_in_a_jupyter_kernel_interrupts_within_a_second(scenarios):
    """The notebook's "interrupt the kernel" (SIGINT to the kernel) stops a long call and the
    cell ends in KeyboardInterrupt within a second."""
    from jupyter_client import KernelManager

    manager = KernelManager(kernel_name="python3")
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)

        def reply_to(msg_id: str, timeout: float) -> dict:
            while True:
                msg = client.get_shell_msg(timeout=timeout)
                if msg["parent_header"].get("msg_id") == msg_id:
                    return msg["content"]

        ready = reply_to(client.execute("import trajectoire"), 60)
        assert ready["status"] == "ok", ready
        path = str(scenarios / "malaunay.toml")
        long_call = client.execute(f"trajectoire.run({path!r}, runs=10_000_000, allow_long=True)")
        time.sleep(2.0)  # well inside the simulation
        sent = time.monotonic()
        manager.interrupt_kernel()
        content = reply_to(long_call, 30)
        took = time.monotonic() - sent
        assert content["status"] == "error", content
        assert content["ename"] == "KeyboardInterrupt", content
        assert took < 1.0, f"the cell ended {took:.2f} s after the interrupt"
        # The kernel is alive and the package usable after it.
        after = reply_to(client.execute(f"trajectoire.run({path!r}, runs=20)"), 60)
        assert after["status"] == "ok", after
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_progress_callable_and_bar(scenarios, capsys):
    calls = []
    t.run(scenarios / "malaunay.toml", runs=20000, threads=1, progress=lambda d, n: calls.append((d, n)))
    assert calls and calls[-1] == (20000, 20000)
    assert all(n == 20000 for _, n in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    t.sweep(scenarios / "grande-synthe.toml", vary={"lever.narrative.intensity": (0, 2, 3)}, runs=50, progress=True)
    assert "points" in capsys.readouterr().err  # tqdm's bar on stderr


def test_an_exception_in_progress_stops_the_work(scenarios):
    def stop(done, total):
        raise RuntimeError("enough")

    start = time.perf_counter()
    with pytest.raises(RuntimeError, match="enough"):
        t.run(scenarios / "malaunay.toml", runs=10_000_000, allow_long=True, progress=stop)
    assert time.perf_counter() - start < 5
