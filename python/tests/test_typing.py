"""The type stubs and py.typed reach a user's type checker: mypy accepts a typed use of the
package and flags a wrong call (a list where compare takes paths one by one)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

GOOD = textwrap.dedent(
    """\
    import pandas
    import trajectoire

    results: trajectoire.Results = trajectoire.run("a.toml", runs=50, seed=3, set={"territory.budget": 9000})
    table: pandas.DataFrame = results.trajectories
    summary = results.summary
    report = trajectoire.compare("a.toml", "b.toml", runs=50)
    try:
        trajectoire.check("a.toml")
    except trajectoire.ScenarioError as e:
        for p in e.problems:
            where: str = f"{p.file}:{p.line}:{p.column}: {p.message}"
    """
)

BAD = textwrap.dedent(
    """\
    import trajectoire

    trajectoire.compare(["a.toml", "b.toml"], runs="many")
    """
)


def mypy(tmp_path: Path, code: str) -> subprocess.CompletedProcess[str]:
    file = tmp_path / "use.py"
    file.write_text(code)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--ignore-missing-imports", "--no-incremental", str(file)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )


def test_mypy_accepts_a_typed_use(tmp_path):
    done = mypy(tmp_path, GOOD)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_flags_a_wrong_call(tmp_path):
    done = mypy(tmp_path, BAD)
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'Argument 1 to "compare" has incompatible type "list[str]"' in done.stdout, done.stdout
    assert 'Argument "runs" to "compare" has incompatible type "str"' in done.stdout, done.stdout
