from collections.abc import Callable
from os import PathLike
from pathlib import Path
from typing import Any

__version__: str

class Run:
    def text(self) -> str: ...
    def write(self, folder: str | PathLike[str], plots: bool = True) -> list[Path]: ...

def execute(argv: list[str], progress: Callable[[int, int], object] | None = None) -> dict[str, Any]: ...
def run(
    file: str | PathLike[str],
    out: str | PathLike[str],
    *,
    runs: int | None = None,
    seed: int | None = None,
    substeps: int | None = None,
    sets: list[str] = ...,
    threads: int | None = None,
    deterministic: bool = False,
    allow_long: bool = False,
    progress: Callable[[int, int], object] | None = None,
) -> Run: ...
def whole_numbers(file: str | PathLike[str], path: str) -> bool: ...
def cores() -> int: ...
def build_info() -> dict[str, Any]: ...
