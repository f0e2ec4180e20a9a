"""`trajectoire.run` against `trajectoire run`: the same tables, byte for byte once read, on
the shipped towns and the network; summary.json; write(); threads; options."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest

import trajectoire as t
from helpers import same_frame, timing_free

TOWNS = ["grande-synthe", "le-mene", "loos-en-gohelle", "malaunay"]
TABLES = {
    "trajectories": "trajectories.csv",
    "perpetuation": "perpetuation.csv",
    "phases": "phases.csv",
    "phase_entries": "phase-entries.csv",
}


def same_as_cli(results, folder):
    for attr, name in TABLES.items():
        same_frame(getattr(results, attr), pd.read_csv(folder / name))
        assert results.csv(name) == (folder / name).read_bytes()
    cli_summary = json.loads((folder / "summary.json").read_text())
    assert timing_free(results.summary) == timing_free(cli_summary)


@pytest.mark.parametrize("scenario", TOWNS + ["villes-pairs"])
def test_run_equals_cli(scenario, scenarios, cli, tmp_path):
    path = scenarios / f"{scenario}.toml"
    cli("run", path, "--runs", 300, "--out", tmp_path / "cli", "--no-plots", "--quiet")
    results = t.run(path, runs=300)
    same_as_cli(results, tmp_path / "cli")
    assert results.summary["runs"] == 300


def test_run_options_equal_cli(scenarios, cli, tmp_path):
    path = scenarios / "grande-synthe.toml"
    sets = {"lever.narrative.intensity": 1.5, "territory.budget": 9000}
    cli(
        "run", path, "--runs", 200, "--seed", 7, "--substeps", 2,
        "--set", "lever.narrative.intensity=1.5", "--set", "territory.budget=9000",
        "--out", tmp_path / "cli", "--no-plots", "--quiet",
    )
    results = t.run(path, runs=200, seed=7, substeps=2, set=sets, threads=1)
    same_as_cli(results, tmp_path / "cli")
    det = tmp_path / "det"
    cli("run", path, "--runs", 50, "--deterministic", "--out", det, "--no-plots", "--quiet")
    same_as_cli(t.run(path, runs=50, deterministic=True), det)


def test_threads_never_change_results(scenarios):
    path = scenarios / "malaunay.toml"
    one = t.run(path, runs=2000, threads=1)
    two = t.run(path, runs=2000, threads=2)
    for name in TABLES.values():
        assert one.csv(name) == two.csv(name)


def test_write_writes_what_run_writes(scenarios, cli, tmp_path):
    path = scenarios / "le-mene.toml"
    cli("run", path, "--runs", 200, "--out", tmp_path / "cli", "--quiet")
    results = t.run(path, runs=200)
    files = results.write(tmp_path / "py")
    assert sorted(f.name for f in files) == sorted(p.name for p in (tmp_path / "cli").iterdir())
    for name in TABLES.values():
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes()
    assert timing_free(json.loads((tmp_path / "py" / "summary.json").read_text())) == timing_free(
        json.loads((tmp_path / "cli" / "summary.json").read_text())
    )
    tables_only = results.write(tmp_path / "tables", plots=False)
    assert sorted(f.name for f in tables_only) == sorted(list(TABLES.values()) + ["summary.json"])


def test_text_is_what_run_prints(scenarios, cli, tmp_path):
    path = scenarios / "malaunay.toml"
    printed = cli("run", path, "--runs", 100, "--out", tmp_path / "o", "--no-plots").stdout
    text = t.run(path, runs=100).text
    # The line with the time taken differs; everything else is the program's.
    strip = lambda s: [l for l in s.splitlines() if " s" not in l.split("—")[-1] and "Outputs in" not in l]
    assert strip(text.rstrip("\n")) == strip(printed.split("\nOutputs in")[0].rstrip("\n"))


def test_import_is_fast_and_lazy():
    code = (
        "import sys, time; t0 = time.perf_counter(); import trajectoire; "
        "print(time.perf_counter() - t0, 'pandas' in sys.modules, 'numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, pandas_loaded, numpy_loaded = out.stdout.split()
    assert float(seconds) < 0.5
    assert pandas_loaded == "False" and numpy_loaded == "False"


def test_gil_is_released(scenarios):
    """Another Python thread keeps running while a run simulates."""
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.005)

    th = threading.Thread(target=tick)
    th.start()
    start = time.perf_counter()
    t.run(scenarios / "malaunay.toml", runs=20000, threads=1)
    end = time.perf_counter()
    stop.set()
    th.join()
    during = [x for x in ticks if start < x < end]
    assert end - start > 0.2
    assert len(during) > (end - start) / 0.005 * 0.5


def test_two_runs_side_by_side(scenarios):
    """Runs from two Python threads at once give what they give alone."""
    path = scenarios / "grande-synthe.toml"
    alone = t.run(path, runs=500).csv("trajectories.csv")
    out = {}
    ths = [threading.Thread(target=lambda i=i: out.__setitem__(i, t.run(path, runs=500, threads=1))) for i in range(2)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    assert out[0].csv("trajectories.csv") == alone == out[1].csv("trajectories.csv")
