"""Shared fixtures: the repository, the program the package is checked against, and a helper
running it. The program is $TRAJECTOIRE_BIN, else target/release/trajectoire (build it with
`cargo build --release`)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios"


def _program() -> Path:
    given = os.environ.get("TRAJECTOIRE_BIN")
    path = Path(given) if given else REPO / "target" / "release" / "trajectoire"
    if not path.is_file():
        pytest.exit(f"the program {path} is missing: run `cargo build --release` or set TRAJECTOIRE_BIN", 2)
    return path


@pytest.fixture(scope="session")
def program() -> Path:
    return _program()


@pytest.fixture(scope="session")
def cli(program):
    """cli(*args) → CompletedProcess of the program (text, not checked)."""

    def call(*args: object, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [str(program), *map(str, args)], capture_output=True, text=True, cwd=REPO
        )
        if check and done.returncode not in (0, 4):
            raise AssertionError(f"{args}: exit {done.returncode}\n{done.stderr}")
        return done

    return call


@pytest.fixture(scope="session")
def scenarios() -> Path:
    return SCENARIOS
