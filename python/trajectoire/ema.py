"""trajectoire models for the EMA Workbench (checked with ema_workbench 2.5.3 on Python 3.11).

``model(path, uncertainties=..., levers=..., outcomes=...)`` returns an
``ema_workbench.Model`` whose every experiment is an ensemble of trajectoire runs with the
given seed and runs, at the experiment's point: exactly what ``trajectoire sweep`` computes at
that point (it is that computation). Use it with ``perform_experiments``, EMA's samplers, and
PRIM or feature scoring on the results.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from pathlib import Path
from typing import Any, Mapping, Optional, Tuple, Union

import trajectoire

__all__ = ["model", "Experiment"]

Range = Tuple[str, Union[int, float], Union[int, float]]


def _default_threads() -> int:
    """Every core in the main process (EMA's SequentialEvaluator); one thread in a worker
    process (EMA's MultiprocessingEvaluator runs a process per core): the two never
    oversubscribe the cores."""
    if multiprocessing.current_process().name != "MainProcess":
        return 1
    return trajectoire.cores()


class Experiment:
    """The model's function: one experiment of EMA → one trajectoire ensemble (a sweep at one
    point). Picklable, for EMA's multiprocessing evaluator."""

    def __init__(
        self,
        path: Path,
        parameters: dict[str, str],
        outcomes: dict[str, str],
        constants: dict[str, str],
        runs: Optional[int],
        seed: Optional[int],
        substeps: Optional[int],
        deterministic: bool,
        threads: Optional[int],
    ) -> None:
        self.path = path
        self.parameters = parameters  # EMA name → --set path
        self.outcomes = outcomes  # EMA name → outcome expression
        self.constants = constants  # EMA name → --set path
        self.runs = runs
        self.seed = seed
        self.substeps = substeps
        self.deterministic = deterministic
        self.threads = threads

    def sets(self, values: Mapping[str, Any]) -> tuple[dict[str, list[Any]], dict[str, Any]]:
        """The experiment's point as sweep's ``vary`` (one value per parameter) and ``set``."""
        vary = {self.parameters[n]: [values[n]] for n in self.parameters if n in values}
        fixed = {self.constants[n]: values[n] for n in self.constants if n in values}
        return vary, fixed

    def __call__(self, **values: Any) -> dict[str, float]:
        vary, fixed = self.sets(values)
        report = trajectoire.sweep(
            self.path,
            vary=vary,
            outcomes=list(self.outcomes.values()),
            runs=self.runs,
            seed=self.seed,
            substeps=self.substeps,
            set=fixed,
            threads=self.threads if self.threads is not None else _default_threads(),
            deterministic=self.deterministic,
            plots=False,
        )
        # sweep.csv: one row per outcome of the one point, in the order asked
        estimates = report.table("sweep")["estimate"].tolist()
        if len(estimates) != len(self.outcomes):
            raise RuntimeError(f"sweep gave {len(estimates)} estimates for {len(self.outcomes)} outcomes")
        out = {}
        for name, value in zip(self.outcomes, estimates):
            out[name] = float(value)
        return out


def model(
    path: Union[str, "os.PathLike[str]"],
    name: Optional[str] = None,
    uncertainties: Optional[Mapping[str, Range]] = None,
    levers: Optional[Mapping[str, Range]] = None,
    outcomes: Optional[Mapping[str, str]] = None,
    runs: Optional[int] = None,
    seed: Optional[int] = None,
    constants: Optional[Mapping[str, Tuple[str, Any]]] = None,
    substeps: Optional[int] = None,
    deterministic: bool = False,
    threads: Optional[int] = None,
) -> Any:
    """An ``ema_workbench.Model`` running the scenario ``path``.

    - ``uncertainties`` and ``levers``: ``{NAME: (PATH, LO, HI)}``, PATH a ``--set`` path; a
      path that takes whole numbers (``lever.X.from``, ``territory.horizon``…) becomes an
      ``IntegerParameter``, any other a ``RealParameter``.
    - ``outcomes``: ``{NAME: OUTCOME}``, OUTCOME in the outcome language
      (``"perpetuation@144"``, ``"spend"``…); each a ``ScalarOutcome``.
    - ``constants``: ``{NAME: (PATH, VALUE)}``: ``Constant``s, set on every experiment.
    - ``runs``, ``seed``, ``substeps``, ``deterministic``: each experiment's ensemble, as the
      program's options.
    - ``threads``: trajectoire's worker threads per experiment (default: every core in the
      main process, one inside EMA's worker processes).
    """
    from ema_workbench import Constant, IntegerParameter, Model, RealParameter, ScalarOutcome

    path = Path(path)
    uncertainties = dict(uncertainties or {})
    levers = dict(levers or {})
    outcomes = dict(outcomes or {})
    constants = dict(constants or {})
    if not outcomes:
        raise trajectoire.ScenarioError(
            "ema.model: give at least one outcome, e.g. outcomes={'perpetuation': 'perpetuation@end'}",
            [{"message": "no outcome", "argument": "outcomes"}],
        )
    if not uncertainties and not levers:
        raise trajectoire.ScenarioError(
            "ema.model: give at least one uncertainty or lever, e.g. uncertainties={'x': ('lever.citergie.intensity', 0, 2)}",
            [{"message": "nothing varies", "argument": "uncertainties"}],
        )
    trajectoire.check(path)

    def parameter(pname: str, spec: Range) -> Any:
        set_path, lo, hi = spec
        if trajectoire._native.whole_numbers(path, set_path):
            if float(lo) != int(lo) or float(hi) != int(hi):
                raise trajectoire.ScenarioError(
                    f"ema.model: {pname} ({set_path}) takes whole numbers: give whole bounds, not {lo}..{hi}",
                    [{"message": f"{set_path} takes whole numbers", "argument": pname}],
                )
            return IntegerParameter(pname, int(lo), int(hi))
        return RealParameter(pname, float(lo), float(hi))

    parameters = {n: spec[0] for n, spec in list(uncertainties.items()) + list(levers.items())}
    function = Experiment(
        path,
        parameters,
        outcomes,
        {n: spec[0] for n, spec in constants.items()},
        runs,
        seed,
        substeps,
        deterministic,
        threads,
    )
    ema_model = Model(name or _identifier(path.stem), function=function)
    ema_model.uncertainties = [parameter(n, s) for n, s in uncertainties.items()]
    ema_model.levers = [parameter(n, s) for n, s in levers.items()]
    ema_model.outcomes = [ScalarOutcome(n) for n in outcomes]
    if constants:
        ema_model.constants = [Constant(n, v) for n, (_, v) in constants.items()]
    return ema_model


def _identifier(stem: str) -> str:
    """EMA model names are alphanumerical: "grande-synthe" → "grandesynthe"."""
    name = "".join(c for c in stem if c.isalnum())
    return name or "trajectoire"
