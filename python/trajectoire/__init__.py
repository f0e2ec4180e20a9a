"""trajectoire from Python: simulate a territory's ecological and social transition.

The engine is the Rust library of the ``trajectoire`` program, called in-process (no
subprocess): every function here is a command of the program, its command-line arguments as
keyword arguments, and returns what the command writes as pandas DataFrames (its CSV tables,
exactly) and plain data (its JSON files). See docs/python.md.

pandas is imported only when a DataFrame is first built, so ``import trajectoire`` is fast.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Optional, Sequence, Union

from trajectoire import _native
from trajectoire._errors import Problem, ScenarioError, ScenarioFileNotFoundError

if TYPE_CHECKING:  # pandas stays unimported at run time until a DataFrame is built
    import pandas

__version__: str = _native.__version__

__all__ = [
    "Problem",
    "Report",
    "Results",
    "ScenarioError",
    "ScenarioFileNotFoundError",
    "TestReport",
    "__version__",
    "calibrate",
    "check",
    "compare",
    "cores",
    "discover",
    "explain",
    "optimize",
    "run",
    "sensitivity",
    "sweep",
    "test",
    "transfer",
]

PathLike = Union[str, "os.PathLike[str]"]
Progress = Union[bool, Callable[[int, int], Any], None]


def cores() -> int:
    """The cores of this machine: the default number of worker threads."""
    return _native.cores()


# ---------------------------------------------------------------------------------------------
# Arguments


def _value(v: Any) -> str:
    """A number or word as the command line writes it (whole floats as integers)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return str(int(v))
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):  # numpy scalars
        return _value(v.item())
    return str(v)


def _spec(spec: Any) -> str:
    """A --vary or --uncertain spec: text as is, (LO, HI) → LO..HI, (LO, HI, N) → LO..HI:N, a
    list → V1,V2,..."""
    if isinstance(spec, str):
        return spec
    if isinstance(spec, tuple) and len(spec) in (2, 3):
        text = f"{_value(spec[0])}..{_value(spec[1])}"
        return text if len(spec) == 2 else f"{text}:{_value(spec[2])}"
    if isinstance(spec, (list, range)) or hasattr(spec, "tolist"):
        values = spec.tolist() if hasattr(spec, "tolist") else list(spec)
        return ",".join(_value(x) for x in values)
    return _value(spec)


def _pairs(flag: str, mapping: Optional[Mapping[str, Any]], spec: bool) -> list[str]:
    """`{PATH: X}` → `flag PATH=X` repeated (also accepts a list of "PATH=X" strings)."""
    if not mapping:
        return []
    argv: list[str] = []
    if isinstance(mapping, Mapping):
        for path, x in mapping.items():
            argv += [flag, f"{path}={_spec(x) if spec else _value(x)}"]
    else:
        for text in mapping:
            argv += [flag, str(text)]
    return argv


def _repeated(flag: str, values: Union[str, Iterable[Any], None]) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    argv: list[str] = []
    for v in values:
        argv += [flag, str(v)]
    return argv


def _simulation(
    runs: Optional[int],
    seed: Optional[int],
    substeps: Optional[int],
    set: Optional[Mapping[str, Any]],
    threads: Optional[int],
    deterministic: bool,
    allow_long: bool,
) -> list[str]:
    argv: list[str] = []
    for flag, v in (("--runs", runs), ("--seed", seed), ("--substeps", substeps), ("--threads", threads)):
        if v is not None:
            argv += [flag, _value(v)]
    if deterministic:
        argv.append("--deterministic")
    if allow_long:
        argv.append("--allow-long")
    return argv + _pairs("--set", set, spec=False)


def _options(**options: Any) -> list[str]:
    """Other options: None left out, True a flag, False nothing, anything else its value."""
    argv: list[str] = []
    for name, v in options.items():
        flag = "--" + name.rstrip("_").replace("_", "-")
        if v is None or v is False:
            continue
        if v is True:
            argv.append(flag)
        else:
            argv += [flag, _value(v)]
    return argv


# ---------------------------------------------------------------------------------------------
# Progress


def _progress(progress: Progress, unit: str) -> Optional[Callable[[int, int], Any]]:
    """A callable for the native side: the given one, a tqdm bar (or a line on stderr without
    tqdm) for True, or None."""
    if progress is None or progress is False:
        return None
    if callable(progress):
        return progress
    try:
        from tqdm.auto import tqdm
    except ImportError:  # no tqdm: a line on stderr
        def line(done: int, total: int) -> None:
            end = "\n" if done >= total else ""
            print(f"\r{done}/{total} {unit}", end=end, file=sys.stderr, flush=True)

        return line

    bar: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, unit=f" {unit}", leave=False)
        b = bar["bar"]
        if b.total != total:
            b.total = total
        b.update(done - b.n)
        if done >= total:
            b.close()

    return update


# ---------------------------------------------------------------------------------------------
# Results


def _read_csv(data: bytes) -> "pandas.DataFrame":
    import pandas as pd  # lazy: `import trajectoire` does not pay for pandas

    return pd.read_csv(io.BytesIO(data))


class Results:
    """A run's results: the tables of ``trajectoire run`` as DataFrames (exactly the CSV files'
    columns and values), ``summary`` (summary.json as a dict) and ``text`` (what the program
    prints). ``write(folder)`` writes what ``trajectoire run`` writes."""

    _TABLES = {
        "trajectories": "trajectories.csv",
        "perpetuation": "perpetuation.csv",
        "phases": "phases.csv",
        "phase_entries": "phase-entries.csv",
    }

    def __init__(self, native: Any, csv: dict[str, bytes], summary: dict[str, Any]) -> None:
        self._native = native
        self._csv = csv
        self._frames: dict[str, "pandas.DataFrame"] = {}
        self.summary: dict[str, Any] = summary

    def _table(self, name: str) -> "pandas.DataFrame":
        if name not in self._frames:
            self._frames[name] = _read_csv(self._csv[self._TABLES[name]])
        return self._frames[name]

    @property
    def trajectories(self) -> "pandas.DataFrame":
        """trajectories.csv: month by month, each index's mean and quantiles."""
        return self._table("trajectories")

    @property
    def perpetuation(self) -> "pandas.DataFrame":
        """perpetuation.csv."""
        return self._table("perpetuation")

    @property
    def phases(self) -> "pandas.DataFrame":
        """phases.csv."""
        return self._table("phases")

    @property
    def phase_entries(self) -> "pandas.DataFrame":
        """phase-entries.csv."""
        return self._table("phase_entries")

    def csv(self, name: str) -> bytes:
        """The bytes of one CSV file as ``trajectoire run`` writes it, e.g. "trajectories.csv"."""
        return self._csv[name]

    @property
    def text(self) -> str:
        """What ``trajectoire run`` prints."""
        return self._native.text()

    def write(self, folder: PathLike, plots: bool = True) -> list[Path]:
        """Writes the tables, summary.json and (with ``plots``) the plots into ``folder``,
        created if needed, as ``trajectoire run --out folder`` does. Returns the files."""
        return [Path(p) for p in self._native.write(Path(folder), plots)]

    def __repr__(self) -> str:
        s = self.summary
        return f"<trajectoire.Results of {s.get('scenario', '?')}: {s.get('runs', '?')} runs>"


class Report:
    """What a command found: ``tables`` (its CSV files as DataFrames, by name without
    ``.csv``, also reachable as attributes with ``-`` read as ``_``), ``data`` (its JSON files
    as dicts, by name without ``.json``), ``text`` (what the program prints), ``exit_code``
    (the program's), and ``folder`` (where the files are, when ``out=`` was given)."""

    def __init__(
        self,
        command: str,
        text: str,
        exit_code: int,
        tables: dict[str, bytes],
        data: dict[str, Any],
        folder: Optional[Path],
        files: list[str],
    ) -> None:
        self.command = command
        self.text = text
        self.exit_code = exit_code
        self._csv = tables
        self._frames: dict[str, "pandas.DataFrame"] = {}
        self.data = data
        self.folder = folder
        self.files = files

    @property
    def tables(self) -> dict[str, "pandas.DataFrame"]:
        for name in self._csv:
            if name not in self._frames:
                self._frames[name] = _read_csv(self._csv[name])
        return dict(self._frames)

    def table(self, name: str) -> "pandas.DataFrame":
        """One table by its file name (with or without ``.csv``)."""
        name = name[:-4] if name.endswith(".csv") else name
        if name not in self._frames:
            self._frames[name] = _read_csv(self._csv[name])
        return self._frames[name]

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        for name in (attr, attr.replace("_", "-")):
            if name in self.__dict__.get("_csv", {}):
                return self.table(name)
            if name in self.__dict__.get("data", {}):
                return self.data[name]
        raise AttributeError(f"{self.command} has no table or data named {attr!r}")

    def __dir__(self) -> list[str]:
        names = [n.replace("-", "_") for n in list(self._csv) + list(self.data)]
        return sorted(set(list(super().__dir__()) + names))

    def __repr__(self) -> str:
        return f"<trajectoire.Report of {self.command}: tables {sorted(self._csv)}, data {sorted(self.data)}>"


def _collect(folder: Path) -> tuple[dict[str, bytes], dict[str, Any], list[str]]:
    tables: dict[str, bytes] = {}
    data: dict[str, Any] = {}
    files = []
    for path in sorted(folder.iterdir()):
        files.append(path.name)
        if path.suffix == ".csv":
            tables[path.stem] = path.read_bytes()
        elif path.suffix == ".json":
            data[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return tables, data, files


def _scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="trajectoire-"))


def _command(
    command: str,
    argv: list[str],
    out: Optional[PathLike],
    plots: Optional[bool],
    progress: Progress,
    unit: str,
    writes: bool = True,
) -> Report:
    """Does `command` with `argv`; its files go into `out`, or a scratch folder removed once
    read."""
    scratch = None
    folder: Optional[Path] = None
    if writes:
        if out is None:
            scratch = _scratch()
            folder = scratch / "out"
        else:
            folder = Path(out)
        argv = argv + ["--out", str(folder)]
        if not (plots if plots is not None else out is not None):
            argv.append("--no-plots")
    try:
        done = _native.execute([command] + argv + ["--quiet"] if writes else [command] + argv, _progress(progress, unit))
        tables: dict[str, bytes] = {}
        data: dict[str, Any] = {}
        files: list[str] = []
        if folder is not None and folder.is_dir():
            tables, data, files = _collect(folder)
        if "rows" in done:
            data["hypotheses"] = json.loads(done["rows"])
        return Report(
            command,
            done["text"],
            int(done["exit_code"]),
            tables,
            data,
            None if scratch is not None else folder,
            files,
        )
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# The commands


def run(
    path: PathLike,
    runs: Optional[int] = None,
    seed: Optional[int] = None,
    substeps: Optional[int] = None,
    set: Optional[Mapping[str, Any]] = None,
    threads: Optional[int] = None,
    deterministic: bool = False,
    progress: Progress = None,
    *,
    allow_long: bool = False,
) -> Results:
    """``trajectoire run``: simulates a territory or a network.

    ``set`` is ``{PATH: VALUE}`` (the program's ``--set PATH=VALUE``); ``threads`` the worker
    threads (default: every core; never changes the results); ``progress`` True for a bar
    (tqdm if installed) or a callable ``f(done, total)``. Ctrl-C stops the work and raises
    KeyboardInterrupt. Raises ScenarioError for an invalid scenario or argument.
    """
    sets = [f"{p}={_value(v)}" for p, v in (set or {}).items()] if isinstance(set, Mapping) else list(set or [])
    scratch = _scratch()
    try:
        out = scratch / "out"
        native = _native.run(
            Path(path),
            out,
            runs=runs,
            seed=seed,
            substeps=substeps,
            sets=sets,
            threads=threads,
            deterministic=deterministic,
            allow_long=allow_long,
            progress=_progress(progress, "runs"),
        )
        csv = {name: (out / name).read_bytes() for name in Results._TABLES.values()}
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Results(native, csv, summary)


def check(path: PathLike, observed: Optional[PathLike] = None) -> str:
    """``trajectoire check``: returns the program's sentence when the file (and the observed
    history) is valid; raises ScenarioError with every problem otherwise."""
    argv = [str(path)] + _options(observed=observed)
    return _native.execute(["check"] + argv, None)["text"]


def explain(path: PathLike) -> str:
    """``trajectoire explain``: the scenario in plain words, with its numbers and equations."""
    return _native.execute(["explain", str(path)], None)["text"]


def compare(
    *paths: PathLike,
    variants: Optional[Mapping[str, Mapping[str, Any]]] = None,
    outcomes: Optional[Sequence[str]] = None,
    runs: Optional[int] = None,
    seed: Optional[int] = None,
    substeps: Optional[int] = None,
    set: Optional[Mapping[str, Any]] = None,
    threads: Optional[int] = None,
    deterministic: bool = False,
    allow_long: bool = False,
    out: Optional[PathLike] = None,
    plots: Optional[bool] = None,
    progress: Progress = None,
) -> Report:
    """``trajectoire compare``: the base scenario (first path) against the other files and
    ``variants={NAME: {PATH: VALUE}}``; tables ``compare`` (compare.csv), data ``compare``."""
    argv = [str(p) for p in paths]
    for name, sets in (variants or {}).items():
        if isinstance(sets, str):
            argv += ["--variant", f"{name}: {sets}"]
        else:
            argv += ["--variant", f"{name}: " + ", ".join(f"{p}={_value(v)}" for p, v in sets.items())]
    argv += _repeated("--outcome", outcomes)
    argv += _simulation(runs, seed, substeps, set, threads, deterministic, allow_long)
    return _command("compare", argv, out, plots, progress, "runs")


def test(
    path: PathLike,
    expect: Union[str, Sequence[str], None] = None,
    runs: Optional[int] = None,
    seed: Optional[int] = None,
    substeps: Optional[int] = None,
    set: Optional[Mapping[str, Any]] = None,
    threads: Optional[int] = None,
    deterministic: bool = False,
    allow_long: bool = False,
    progress: Progress = None,
) -> Report:
    """``trajectoire test``: the file's hypotheses and ``expect``'s, each with its estimate,
    95% interval and verdict: ``data["hypotheses"]`` (a list of dicts) and ``table`` (a
    DataFrame, one row per hypothesis); ``exit_code`` is 4 unless all are supported."""
    argv = [str(path)] + _repeated("--expect", expect)
    argv += _simulation(runs, seed, substeps, set, threads, deterministic, allow_long)
    report = _command("test", argv, None, False, progress, "runs", writes=False)
    report.__class__ = TestReport
    return report


class TestReport(Report):
    """What ``test`` found: ``data["hypotheses"]`` as the library gives it, and
    ``hypotheses``, one row per hypothesis (name, verdict, estimate, 95% interval, runs, runs
    that would likely decide an inconclusive one)."""

    __test__ = False  # not a pytest test class

    @property
    def hypotheses(self) -> "pandas.DataFrame":
        import pandas as pd

        rows = [
            {
                "hypothesis": r["hypothesis"]["name"],
                "verdict": r["verdict"],
                "estimate": r["estimate"]["estimate"],
                "low": r["estimate"]["low"],
                "high": r["estimate"]["high"],
                "n": r["estimate"]["n"],
                "runs_needed": r["runs_needed"],
            }
            for r in self.data["hypotheses"]
        ]
        return pd.DataFrame(rows, columns=["hypothesis", "verdict", "estimate", "low", "high", "n", "runs_needed"])


def sweep(
    path: PathLike,
    vary: Mapping[str, Any],
    design: Optional[str] = None,
    outcomes: Optional[Sequence[str]] = None,
    expect: Optional[str] = None,
    runs: Optional[int] = None,
    seed: Optional[int] = None,
    substeps: Optional[int] = None,
    set: Optional[Mapping[str, Any]] = None,
    threads: Optional[int] = None,
    deterministic: bool = False,
    allow_long: bool = False,
    out: Optional[PathLike] = None,
    plots: Optional[bool] = None,
    progress: Progress = None,
) -> Report:
    """``trajectoire sweep``: ``vary={PATH: SPEC}`` with SPEC "LO..HI:N", (LO, HI, N),
    (LO, HI) or a list of values; ``design`` "grid", "lhs:N" or "sobol:N"."""
    argv = [str(path)] + _pairs("--vary", vary, spec=True) + _options(design=design, expect=expect)
    argv += _repeated("--outcome", outcomes)
    argv += _simulation(runs, seed, substeps, set, threads, deterministic, allow_long)
    return _command("sweep", argv, out, plots, progress, "points")


def sensitivity(
    path: PathLike,
    vary: Mapping[str, Any],
    method: Optional[str] = None,
    levels: Optional[int] = None,
    second_order: bool = True,
    bootstrap: Optional[int] = None,
    outcomes: Optional[Sequence[str]] = None,
    runs: Optional[int] = None,
    seed: Optional[int] = None,
    substeps: Optional[int] = None,
    set: Optional[Mapping[str, Any]] = None,
    threads: Optional[int] = None,
    deterministic: bool = False,
    allow_long: bool = False,
    out: Optional[PathLike] = None,
    plots: Optional[bool] = None,
    progress: Progress = None,
) -> Report:
    """``trajectoire sensitivity``: ``vary={PATH: (LO, HI)}``, ``method`` "sobol[:N]" or
    "morris[:R]"."""
    argv = [str(path)] + _pairs("--vary", vary, spec=True)
    argv += _options(method=method, levels=levels, no_second_order=not second_order, bootstrap=bootstrap)
    argv += _repeated("--outcome", outcomes)
    argv += _simulation(runs, seed, substeps, set, threads, deterministic, allow_long)
    return _command("sensitivity", argv, out, plots, progress, "points")


def calibrate(
    path: PathLike,
    observed: PathLike,
    vary: Mapping[str, Any],
    particles: Optional[int] = None,
    runs: Optional[int] = None,
    seed: Optional[int] = None,
    substeps: Optional[int] = None,
    set: Optional[Mapping[str, Any]] = None,
    threads: Optional[int] = None,
    deterministic: bool = False,
    allow_long: bool = False,
    out: Optional[PathLike] = None,
    plots: Optional[bool] = None,
    progress: Progress = None,
) -> Report:
    """``trajectoire calibrate``: the posterior of ``vary={PATH: (LO, HI)}`` given the
    observed history (CSV: index,month,value,sd)."""
    argv = [str(path)] + _options(observed=observed, particles=particles) + _pairs("--vary", vary, spec=True)
    argv += _simulation(runs, seed, substeps, set, threads, deterministic, allow_long)
    return _command("calibrate", argv, out, plots, progress, "likelihood evaluations")


def transfer(
    *paths: PathLike,
    library: Optional[PathLike] = None,
    levers: Union[str, Sequence[str], None] = None,
    start: Optional[int] = None,
    outcomes: Optional[Sequence[str]] = None,
    runs: Optional[int] = None,
    seed: Optional[int] = None,
    substeps: Optional[int] = None,
    set: Optional[Mapping[str, Any]] = None,
    threads: Optional[int] = None,
    deterministic: bool = False,
    allow_long: bool = False,
    out: Optional[PathLike] = None,
    plots: Optional[bool] = None,
    progress: Progress = None,
) -> Report:
    """``trajectoire transfer``: the effect of each method of the library in each town;
    ``start`` is the program's ``--from``."""
    argv = [str(p) for p in paths] + _options(library=library, from_=start)
    argv += _repeated("--lever", levers) + _repeated("--outcome", outcomes)
    argv += _simulation(runs, seed, substeps, set, threads, deterministic, allow_long)
    return _command("transfer", argv, out, plots, progress, "runs")


def discover(
    path: PathLike,
    vary: Mapping[str, Any],
    where: str,
    design: Optional[str] = None,
    peel: Optional[float] = None,
    paste: Optional[float] = None,
    mass_min: Optional[float] = None,
    threshold: Optional[float] = None,
    boxes: Optional[int] = None,
    runs: Optional[int] = None,
    seed: Optional[int] = None,
    substeps: Optional[int] = None,
    set: Optional[Mapping[str, Any]] = None,
    threads: Optional[int] = None,
    deterministic: bool = False,
    allow_long: bool = False,
    out: Optional[PathLike] = None,
    plots: Optional[bool] = None,
    progress: Progress = None,
) -> Report:
    """``trajectoire discover``: scenario discovery (PRIM) of where ``where`` holds."""
    argv = [str(path)] + _pairs("--vary", vary, spec=True)
    argv += _options(
        where=where, design=design, peel=peel, paste=paste, mass_min=mass_min, threshold=threshold, boxes=boxes
    )
    argv += _simulation(runs, seed, substeps, set, threads, deterministic, allow_long)
    return _command("discover", argv, out, plots, progress, "points")


def optimize(
    path: PathLike,
    vary: Mapping[str, Any],
    objectives: Union[str, Sequence[str]],
    constraints: Union[str, Sequence[str], None] = None,
    evaluations: Optional[int] = None,
    population: Optional[int] = None,
    uncertain: Optional[Mapping[str, Any]] = None,
    scenarios: Optional[int] = None,
    robust: Optional[str] = None,
    resume: bool = False,
    runs: Optional[int] = None,
    seed: Optional[int] = None,
    substeps: Optional[int] = None,
    set: Optional[Mapping[str, Any]] = None,
    threads: Optional[int] = None,
    deterministic: bool = False,
    allow_long: bool = False,
    out: Optional[PathLike] = None,
    plots: Optional[bool] = None,
    progress: Progress = None,
) -> Report:
    """``trajectoire optimize``: ``objectives`` like ["max perpetuation@end", "min spend"]."""
    argv = [str(path)] + _pairs("--vary", vary, spec=True)
    argv += _repeated("--objective", objectives) + _repeated("--constraint", constraints)
    argv += _pairs("--uncertain", uncertain, spec=True)
    argv += _options(evaluations=evaluations, population=population, scenarios=scenarios, robust=robust, resume=resume)
    argv += _simulation(runs, seed, substeps, set, threads, deterministic, allow_long)
    return _command("optimize", argv, out, plots, progress, "evaluations")


def __getattr__(name: str) -> Any:  # `trajectoire.ema` imported on first use (it imports pandas)
    if name == "ema":
        import importlib

        return importlib.import_module("trajectoire.ema")
    raise AttributeError(f"module 'trajectoire' has no attribute {name!r}")
