"""Every other command once, against the program: its CSV tables as DataFrames, its JSON files
as data, what it prints."""

from __future__ import annotations

import pandas as pd
import pytest

import trajectoire as t
from helpers import same_folder_tables


def test_check_and_explain_print_what_the_program_prints(scenarios, cli):
    for name in ["grande-synthe.toml", "villes-pairs.toml", "referentiel.toml"]:
        assert t.check(scenarios / name) == cli("check", scenarios / name).stdout
    observed = scenarios / "malaunay-observed.csv"
    assert t.check(scenarios / "malaunay.toml", observed=observed) == cli(
        "check", scenarios / "malaunay.toml", "--observed", observed
    ).stdout
    assert t.explain(scenarios / "malaunay.toml") == cli("explain", scenarios / "malaunay.toml").stdout


def test_compare(scenarios, cli, tmp_path):
    base = scenarios / "grande-synthe.toml"
    cli(
        "compare", base, "--variant", "strong: lever.narrative.intensity=2, territory.budget=12000",
        "--outcome", "perpetuation@end", "--outcome", "scale@end", "--runs", 300,
        "--out", tmp_path / "cli", "--no-plots", "--quiet",
    )
    report = t.compare(
        base,
        variants={"strong": {"lever.narrative.intensity": 2, "territory.budget": 12000}},
        outcomes=["perpetuation@end", "scale@end"],
        runs=300,
    )
    same_folder_tables(report, tmp_path / "cli")
    assert isinstance(report.compare, pd.DataFrame)
    assert report.folder is None


def test_compare_files_writes_plots_with_out(scenarios, cli, tmp_path):
    report = t.compare(
        scenarios / "grande-synthe.toml", scenarios / "malaunay.toml", runs=100, out=tmp_path / "py"
    )
    cli(
        "compare", scenarios / "grande-synthe.toml", scenarios / "malaunay.toml", "--runs", 100,
        "--out", tmp_path / "cli", "--quiet",
    )
    assert report.folder == tmp_path / "py"
    assert sorted(report.files) == sorted(p.name for p in (tmp_path / "cli").iterdir())
    same_folder_tables(report, tmp_path / "cli")


def test_test_verdicts(scenarios, cli):
    path = scenarios / "malaunay.toml"
    done = cli("test", path, "--expect", "perpetuation@240 >= 0.95", "--expect", "entry(acceleration) <= 144", "--runs", 200)
    report = t.test(path, expect=["perpetuation@240 >= 0.95", "entry(acceleration) <= 144"], runs=200)
    assert report.text == done.stdout
    assert report.exit_code == done.returncode
    rows = report.data["hypotheses"]
    assert [r["hypothesis"]["name"] for r in rows][-2:] == ["perpetuation@240 >= 0.95", "entry(acceleration) <= 144"]
    assert {r["verdict"] for r in rows} <= {"supported", "rejected", "inconclusive"}
    table = report.hypotheses
    assert list(table.columns[:3]) == ["hypothesis", "verdict", "estimate"]
    assert len(table) == len(rows)


def test_sweep(scenarios, cli, tmp_path):
    path = scenarios / "grande-synthe.toml"
    cli(
        "sweep", path, "--vary", "lever.narrative.intensity=0..2:3", "--vary", "lever.cooperation.intensity=0,0.5,1",
        "--outcome", "perpetuation@end", "--outcome", "scale@end", "--expect", "perpetuation@end >= 0.9",
        "--runs", 200, "--out", tmp_path / "cli", "--no-plots", "--quiet",
    )
    report = t.sweep(
        path,
        vary={"lever.narrative.intensity": (0, 2, 3), "lever.cooperation.intensity": [0, 0.5, 1]},
        outcomes=["perpetuation@end", "scale@end"],
        expect="perpetuation@end >= 0.9",
        runs=200,
    )
    same_folder_tables(report, tmp_path / "cli")
    assert report.sweep["point"].nunique() == 9 and len(report.sweep) == 18


def test_sensitivity(scenarios, cli, tmp_path):
    path = scenarios / "grande-synthe.toml"
    cli(
        "sensitivity", path, "--vary", "lever.narrative.intensity=0..2", "--vary", "territory.budget=6000..16000",
        "--method", "sobol:16", "--bootstrap", 100, "--outcome", "perpetuation@end",
        "--runs", 50, "--out", tmp_path / "cli", "--no-plots", "--quiet",
    )
    report = t.sensitivity(
        path,
        vary={"lever.narrative.intensity": (0, 2), "territory.budget": (6000, 16000)},
        method="sobol:16",
        bootstrap=100,
        outcomes=["perpetuation@end"],
        runs=50,
    )
    same_folder_tables(report, tmp_path / "cli")
    assert {"indices", "samples", "evaluations"} <= set(report.tables)


def test_calibrate(scenarios, cli, tmp_path):
    path = scenarios / "malaunay.toml"
    observed = scenarios / "malaunay-observed.csv"
    cli(
        "calibrate", path, "--observed", observed, "--vary", "lever.citergie.intensity=0..2",
        "--particles", 40, "--runs", 20, "--out", tmp_path / "cli", "--no-plots", "--quiet",
    )
    report = t.calibrate(path, observed=observed, vary={"lever.citergie.intensity": (0, 2)}, particles=40, runs=20)
    same_folder_tables(report, tmp_path / "cli")
    assert "posterior" in report.tables


def test_transfer_on_the_network(scenarios, cli, tmp_path):
    path = scenarios / "villes-pairs.toml"
    cli(
        "transfer", path, "--lever", "shared-narrative", "--runs", 100,
        "--out", tmp_path / "cli", "--no-plots", "--quiet",
    )
    report = t.transfer(path, levers="shared-narrative", runs=100)
    same_folder_tables(report, tmp_path / "cli")


def test_discover(scenarios, cli, tmp_path):
    path = scenarios / "grande-synthe.toml"
    vary = ["--vary", "lever.narrative.intensity=0..2", "--vary", "lever.cooperation.intensity=0..2"]
    cli(
        "discover", path, *vary, "--where", "perpetuation@end >= 0.9", "--design", "lhs:64",
        "--runs", 100, "--out", tmp_path / "cli", "--no-plots", "--quiet",
    )
    report = t.discover(
        path,
        vary={"lever.narrative.intensity": (0, 2), "lever.cooperation.intensity": (0, 2)},
        where="perpetuation@end >= 0.9",
        design="lhs:64",
        runs=100,
    )
    same_folder_tables(report, tmp_path / "cli")
    assert len(report.cases) == 64


def test_optimize(scenarios, cli, tmp_path):
    path = scenarios / "grande-synthe.toml"
    cli(
        "optimize", path, "--vary", "lever.narrative.intensity=0..2", "--vary", "lever.cooperation.intensity=0..2",
        "--objective", "max perpetuation@end", "--objective", "min spend", "--constraint", "scale@end >= 0.3",
        "--evaluations", 60, "--population", 20, "--runs", 40,
        "--out", tmp_path / "cli", "--no-plots", "--quiet",
    )
    report = t.optimize(
        path,
        vary={"lever.narrative.intensity": (0, 2), "lever.cooperation.intensity": (0, 2)},
        objectives=["max perpetuation@end", "min spend"],
        constraints=["scale@end >= 0.3"],
        evaluations=60,
        population=20,
        runs=40,
    )
    same_folder_tables(report, tmp_path / "cli")
    assert report.tables
