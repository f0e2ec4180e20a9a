"""The errors of trajectoire: a scenario or an argument that cannot be used."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Optional

__all__ = ["Problem", "ScenarioError", "ScenarioFileNotFoundError"]


@dataclass(frozen=True)
class Problem:
    """One problem found in a scenario or in an argument.

    ``file``, ``line`` and ``column`` (1-based, in characters) say where it is when it is in a
    file; ``argument`` names the command-line argument (keyword) it is in otherwise.
    """

    message: str
    file: Optional[str] = None
    line: Optional[int] = None
    column: Optional[int] = None
    help: Optional[str] = None
    argument: Optional[str] = None


class ScenarioError(ValueError):
    """The scenario (or an argument) is invalid; ``.problems`` lists every problem found and
    ``str()`` is the message the ``trajectoire`` program prints."""

    problems: list[Problem]

    def __init__(self, message: str, problems: Iterable[Any] = ()) -> None:
        super().__init__(message)
        self.problems = [p if isinstance(p, Problem) else Problem(**p) for p in problems]

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(self):  # pickles with its problems (multiprocessing, EMA's evaluators)
        return (type(self), (str(self), self.problems))


class ScenarioFileNotFoundError(ScenarioError, FileNotFoundError):
    """A scenario file (or a file it includes) does not exist: both a ScenarioError, with its
    problems, and a FileNotFoundError."""
