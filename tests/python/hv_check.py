"""pymoo's view of an `optimize` output folder: the hypervolume of pareto.csv's plans up to
optimize.json's reference point (goals to maximise negated) equals the last row of
convergence.csv, and pymoo's non-dominated sorting puts every plan of the front in its first
front. Prints OK or what differs; exits 1 when something does.

    python hv_check.py OUTPUT_FOLDER
"""

import csv
import json
import sys
from pathlib import Path

import numpy as np
from pymoo.indicators.hv import HV
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting


def main(folder: Path) -> int:
    meta = json.loads((folder / "optimize.json").read_text())
    goals = meta["goals"]
    reference = np.array(meta["hypervolume_reference"], dtype=float)
    with open(folder / "pareto.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    points = np.array(
        [
            [(-1.0 if g["maximise"] else 1.0) * float(r[g["outcome"]]) for g in goals]
            for r in rows
        ]
    )
    with open(folder / "convergence.csv", newline="") as f:
        ours = float(list(csv.DictReader(f))[-1]["hypervolume"])
    theirs = float(HV(ref_point=reference)(points))
    problems = []
    if not abs(ours - theirs) <= 1e-9 * max(abs(theirs), 1.0):
        problems.append(f"hypervolume: ours {ours!r}, pymoo's {theirs!r}")
    fronts = NonDominatedSorting().do(points)
    if len(fronts[0]) != len(points):
        problems.append(f"{len(points) - len(fronts[0])} plans of pareto.csv are dominated")
    if problems:
        print("\n".join(problems))
        return 1
    print(f"OK: {len(points)} plans, hypervolume {ours!r} equals pymoo's {theirs!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
