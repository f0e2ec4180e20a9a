"""Comparisons shared by the tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd


def same_frame(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Exactly equal: columns, dtypes and every value (NaN equal to NaN)."""
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def timing_free(value: Any) -> Any:
    """A JSON value without its timing fields (keys naming seconds or time)."""
    if isinstance(value, dict):
        return {
            k: timing_free(v)
            for k, v in value.items()
            if not any(w in k for w in ("seconds", "elapsed", "duration"))
        }
    if isinstance(value, list):
        return [timing_free(v) for v in value]
    return value


def same_folder_tables(report, folder: Path) -> None:
    """Every CSV of `folder` equals the report's table of that name, and its JSON files equal
    the report's data (timing aside)."""
    csvs = sorted(p for p in folder.iterdir() if p.suffix == ".csv")
    assert sorted(report.tables) == [p.stem for p in csvs]
    for p in csvs:
        same_frame(report.table(p.stem), pd.read_csv(p))
    for p in folder.glob("*.json"):
        assert timing_free(report.data[p.stem]) == timing_free(json.loads(p.read_text()))
