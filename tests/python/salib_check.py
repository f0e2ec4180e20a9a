"""Independent check of trajectoire's sensitivity indices with SALib.

Usage: python3 check.py OUTPUT_FOLDER (a folder written by `trajectoire sensitivity`).
Reads samples.csv, evaluations.csv, indices.csv (and second-order.csv) and sensitivity.json,
runs SALib's own `sobol.analyze` or `morris.analyze` on the same samples and evaluations, and
checks that every point estimate agrees to 1e-9 (relative to the outcome's largest index).
Exits 1, saying what differs, when one does not; prints what it compared otherwise.
"""
import csv
import json
import sys
from pathlib import Path

import numpy as np
from SALib.analyze import morris, sobol

folder = Path(sys.argv[1])
meta = json.loads((folder / "sensitivity.json").read_text())
with open(folder / "samples.csv") as f:
    rows = list(csv.reader(f))
names, X = rows[0], np.array([[float(x) for x in r] for r in rows[1:]])
with open(folder / "evaluations.csv") as f:
    rows = list(csv.reader(f))
outcomes, Y = rows[0], np.array([[float(x) for x in r] for r in rows[1:]])
with open(folder / "indices.csv") as f:
    ours = list(csv.DictReader(f))
second = []
if (folder / "second-order.csv").exists():
    with open(folder / "second-order.csv") as f:
        second = list(csv.DictReader(f))

bounds = [[p["spec"]["low"], p["spec"]["high"]] if p["spec"]["kind"] == "range"
          else [min(p["spec"]["values"]), max(p["spec"]["values"])] for p in meta["parameters"]]
problem = {"num_vars": len(names), "names": names, "bounds": bounds}
method = meta["method"]
failures, compared = [], 0


def close(a, b, scale):
    return abs(a - b) <= 1e-9 * max(scale, 1e-12)


for o, outcome in enumerate(outcomes):
    y = Y[:, o]
    mine = [r for r in ours if r["outcome"] == outcome]
    if not np.all(np.isfinite(y)) or mine[0].get("S1", mine[0].get("mu")) == "":
        continue
    if np.ptp(y) == 0:
        continue
    if method["method"] == "sobol":
        si = sobol.analyze(problem, y, calc_second_order=method["second_order"],
                           num_resamples=10, seed=1)
        scale = max(np.max(np.abs(si["S1"])), np.max(np.abs(si["ST"])))
        for j, name in enumerate(names):
            row = next(r for r in mine if r["parameter"] == name)
            for key in ("S1", "ST"):
                compared += 1
                if not close(float(row[key]), si[key][j], scale):
                    failures.append(f"{outcome} {name} {key}: ours {row[key]}, SALib {si[key][j]}")
        if method["second_order"]:
            for r in (r for r in second if r["outcome"] == outcome):
                i, j = names.index(r["parameter_i"]), names.index(r["parameter_j"])
                compared += 1
                if not close(float(r["S2"]), si["S2"][i, j], scale):
                    failures.append(f"{outcome} {names[i]}×{names[j]} S2: ours {r['S2']}, SALib {si['S2'][i, j]}")
    else:
        si = morris.analyze(problem, X, y, num_levels=method["levels"], num_resamples=10, seed=1)
        scale = max(np.max(np.abs(si["mu_star"])), np.max(np.abs(si["sigma"])))
        for j, name in enumerate(names):
            row = next(r for r in mine if r["parameter"] == name)
            for key in ("mu", "mu_star", "sigma"):
                compared += 1
                if not close(float(row[key]), si[key][j], scale):
                    failures.append(f"{outcome} {name} {key}: ours {row[key]}, SALib {si[key][j]}")

if failures:
    print("SALib disagrees:\n  " + "\n  ".join(failures))
    sys.exit(1)
if compared == 0:
    print("nothing was compared")
    sys.exit(1)
print(f"SALib agrees on all {compared} indices of {folder}")
