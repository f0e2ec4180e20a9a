"""trajectoire.ema.model through EMA Workbench's perform_experiments: every experiment equals
`trajectoire sweep` at its point; whole-number paths are IntegerParameters; PRIM and feature
scoring take the results."""

from __future__ import annotations

import math

import pandas as pd
import pytest

ema_workbench = pytest.importorskip("ema_workbench")

import trajectoire as t
from trajectoire import ema

OUTCOMES = {"perpetuation": "perpetuation@end", "scale": "scale@end"}


def make(scenarios, **more):
    return ema.model(
        scenarios / "grande-synthe.toml",
        uncertainties={
            "fatigue": ("actor.inhabitants.fatigue", 0.025, 0.05),
            "start": ("lever.narrative.from", 0, 60),
        },
        levers={"narrative": ("lever.narrative.intensity", 0, 2)},
        outcomes=OUTCOMES,
        runs=100,
        seed=11,
        **more,
    )


def test_parameters_and_outcomes(scenarios):
    from ema_workbench import IntegerParameter, RealParameter

    m = make(scenarios)
    kinds = {p.name: type(p) for p in list(m.uncertainties) + list(m.levers)}
    assert kinds == {"fatigue": RealParameter, "start": IntegerParameter, "narrative": RealParameter}
    assert [o.name for o in m.outcomes] == ["perpetuation", "scale"]
    with pytest.raises(t.ScenarioError):
        ema.model(scenarios / "grande-synthe.toml", uncertainties={"x": ("lever.narative.intensity", 0, 1)}, outcomes=OUTCOMES)


def test_perform_experiments_equals_sweep(scenarios, cli, tmp_path):
    from ema_workbench import SequentialEvaluator, perform_experiments

    m = make(scenarios, constants={"budget": ("territory.budget", 12000)})
    with SequentialEvaluator(m) as evaluator:
        experiments, outcomes = perform_experiments(m, scenarios=3, policies=2, evaluator=evaluator)
    assert len(experiments) == 6
    for i, row in experiments.iterrows():
        args = [
            "sweep", scenarios / "grande-synthe.toml",
            "--vary", f"actor.inhabitants.fatigue={t._value(float(row['fatigue']))}",
            "--vary", f"lever.narrative.from={int(row['start'])}",
            "--vary", f"lever.narrative.intensity={t._value(float(row['narrative']))}",
            "--set", "territory.budget=12000",
            "--outcome", "perpetuation@end", "--outcome", "scale@end",
            "--runs", 100, "--seed", 11, "--out", tmp_path / f"p{i}", "--no-plots", "--quiet",
        ]
        cli(*args)
        swept = pd.read_csv(tmp_path / f"p{i}" / "sweep.csv")["estimate"].tolist()
        assert [outcomes["perpetuation"][i], outcomes["scale"][i]] == swept


def test_a_point_among_many_equals_its_own_sweep(scenarios):
    """Common random numbers: a point of a larger sweep is the ensemble at that point alone."""
    m = make(scenarios)
    alone = m.function(fatigue=0.03, start=12, narrative=1.5)
    grid = t.sweep(
        scenarios / "grande-synthe.toml",
        vary={"actor.inhabitants.fatigue": [0.03, 0.04], "lever.narrative.from": [12], "lever.narrative.intensity": [0.5, 1.5]},
        outcomes=list(OUTCOMES.values()),
        runs=100,
        seed=11,
    ).sweep
    rows = grid[(grid["actor.inhabitants.fatigue"] == 0.03) & (grid["lever.narrative.intensity"] == 1.5)]
    assert len(rows) == 2 and len(grid) == 8
    assert list(alone.values()) == rows["estimate"].tolist()


def test_prim_and_feature_scoring_downstream(scenarios):
    from ema_workbench import SequentialEvaluator, perform_experiments
    from ema_workbench.analysis import feature_scoring, prim

    m = ema.model(
        scenarios / "grande-synthe.toml",
        uncertainties={"fatigue": ("actor.inhabitants.fatigue", 0.02, 0.06)},
        levers={"narrative": ("lever.narrative.intensity", 0, 2)},
        outcomes={"perpetuation": "perpetuation@end"},
        runs=60,
    )
    with SequentialEvaluator(m) as evaluator:
        experiments, outcomes = perform_experiments(m, scenarios=8, policies=3, evaluator=evaluator)
    y = outcomes["perpetuation"] >= pd.Series(outcomes["perpetuation"]).median()
    x = experiments[["fatigue", "narrative"]]
    box = prim.Prim(x, y, threshold=0.6).find_box()
    assert box is not None
    scores = feature_scoring.get_feature_scores_all(x, {"perpetuation": outcomes["perpetuation"]})
    assert set(scores.index) == {"fatigue", "narrative"}
    assert all(math.isfinite(v) for v in outcomes["perpetuation"])


def test_multiprocessing_evaluator_and_another_sampler(scenarios):
    """EMA's worker processes (each experiment on one thread there) and its Monte Carlo
    sampler give what the model gives in this process."""
    from ema_workbench import MultiprocessingEvaluator, Samplers, perform_experiments

    m = ema.model(
        scenarios / "grande-synthe.toml",
        uncertainties={"fatigue": ("actor.inhabitants.fatigue", 0.025, 0.05)},
        levers={"start": ("lever.narrative.from", 0, 60)},
        outcomes={"perpetuation": "perpetuation@end"},
        runs=100,
        seed=3,
    )
    with MultiprocessingEvaluator(m, n_processes=2) as evaluator:
        experiments, outcomes = perform_experiments(
            m, scenarios=3, policies=2, evaluator=evaluator, uncertainty_sampling=Samplers.MC
        )
    here = [m.function(fatigue=r.fatigue, start=int(r.start))["perpetuation"] for r in experiments.itertuples()]
    assert list(outcomes["perpetuation"]) == here
