#!/usr/bin/env python3
"""EMA Workbench's PRIM on the cases `trajectoire discover` made, compared with its boxes.

usage: prim_check.py OUT_DIR THRESHOLD PEEL PASTE MASS_MIN

Reads OUT_DIR/cases.csv (the points, their parameters and y), runs
ema_workbench.analysis.prim.Prim(x, y, threshold, peel_alpha, paste_alpha, mass_min) with
its defaults otherwise (LENIENT1, ABOVE, BINARY) and find_box() as long as boxes are kept,
and compares every step of each box kept with OUT_DIR/trajectory.csv: coverage, density and
mass to the last bit, the restricted parameters, every limit; and the quasi-p values of the box
(OUT_DIR/boxes.csv) to a relative 1e-9 (scipy's binomial tail against ours). Prints what
differs and exits 1, or prints OK and what it compared.

Needs pandas 2 (EMA 2.5.3 breaks on pandas 3 when a whole-number column is pasted).
"""
import math
import sys
import warnings

warnings.simplefilter("ignore")
import pandas as pd  # noqa: E402
from ema_workbench.analysis import prim  # noqa: E402

out, threshold, peel, paste, mass_min = sys.argv[1], *map(float, sys.argv[2:6])
kw = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
cases = pd.read_csv(f"{out}/cases.csv", **kw)
cases = cases[cases["y"].notna()].reset_index(drop=True)
params = [c for c in cases.columns[1:-2]]
x = cases[params].copy()
y = cases["y"].astype(int).values
ours = pd.read_csv(f"{out}/trajectory.csv", **kw, keep_default_na=False)
boxes = pd.read_csv(f"{out}/boxes.csv", **kw)

p = prim.Prim(x, y, threshold=threshold, peel_alpha=peel, paste_alpha=paste, mass_min=mass_min)
problems = []
compared = 0
for b in sorted(set(ours["box"])):
    mine = ours[ours["box"] == b].reset_index(drop=True)
    box = p.find_box()
    if box is None:
        problems.append(f"box {b}: EMA finds no box")
        break
    accepted = bool(mine["accepted"][0])
    traj = box.peeling_trajectory
    if not accepted:
        # EMA replaces a box under the threshold by its "dump box": the start alone.
        if len(traj) != 1:
            problems.append(f"box {b}: EMA kept a box we did not")
        break
    if len(traj) != len(mine):
        problems.append(f"box {b}: {len(traj)} steps in EMA, {len(mine)} here")
    for i in range(min(len(traj), len(mine))):
        for col in ("coverage", "density", "mass"):
            a, m = float(traj[col][i]), float(mine[col][i])
            if a != m:
                problems.append(f"box {b} step {i} {col}: EMA {a!r}, here {m!r}")
        lims = box.box_lims[i]
        restricted = [c for c in params if lims[c][0] != p.box_init[c][0] or lims[c][1] != p.box_init[c][1]]
        here = [d for d in str(mine["dimensions"][i]).split(";") if d]
        if restricted != here:
            problems.append(f"box {b} step {i} restricted: EMA {restricted}, here {here}")
        for c in params:
            for side, name in ((0, "low"), (1, "high")):
                a, m = float(lims[c][side]), float(mine[f"{name}:{c}"][i])
                if a != m:
                    problems.append(f"box {b} step {i} {name}:{c}: EMA {a!r}, here {m!r}")
        compared += 1
    qp = box.qp[-1]
    mine_b = boxes[boxes["box"] == b]
    for c in params:
        row = mine_b[mine_b["parameter"] == c].iloc[0]
        ema = qp.get(c, [-1, -1])
        for side, name in ((0, "qp_low"), (1, "qp_high")):
            a = ema[side]
            m = row[name]
            if a == -1:
                if not (isinstance(m, float) and math.isnan(m)):
                    problems.append(f"box {b} {name} {c}: EMA has none, here {m!r}")
            elif not math.isclose(a, float(m), rel_tol=1e-9, abs_tol=0):
                problems.append(f"box {b} {name} {c}: EMA {a!r}, here {m!r}")
if problems:
    print("\n".join(problems[:40]))
    sys.exit(1)
print(f"OK: {compared} steps of {len(set(ours['box']))} box(es) equal EMA's, {len(params)} parameters, {len(cases)} cases")
