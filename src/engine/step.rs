//! The model's monthly step (docs/model.md, One month) over a block's lanes: shocks, levers, the noise, the Euler
//! substeps, the indices, perpetuation and phases.

use super::block::row;
use super::compile::TerritoryPlan;
use super::{Block, Engine, LANES, NOISE_STRIDE};
use crate::model::{Condition, IndexKind, ShockTiming};
use crate::random::keystream::{self, CHUNK};
use crate::random::normal;

/// max(x, low) for numbers that are not NaN, as one SIMD instruction.
#[inline(always)]
fn at_least(x: f64, low: f64) -> f64 {
    if x < low {
        low
    } else {
        x
    }
}

/// min(x, high) for numbers that are not NaN, as one SIMD instruction.
#[inline(always)]
fn at_most(x: f64, high: f64) -> f64 {
    if x > high {
        high
    } else {
        x
    }
}

impl Engine {
    /// Weighted mean of a per-group array over a territory's groups, into `out` (per lane).
    pub(super) fn weighted(
        &self,
        p: &TerritoryPlan,
        values: &[f64],
        out: &mut [f64],
        lanes: usize,
    ) {
        let out = &mut out[..lanes];
        let Some(last) = p.groups.len().checked_sub(1) else {
            out.fill(0.0);
            return;
        };
        // One pass per group: the first writes, the others add (0 + x is x, so this is the
        // same sum as from zero), and the last also caps the index at 1 — normalised weights
        // sum to 1 up to rounding.
        for (k, g) in p.groups.clone().enumerate() {
            let w = p.weight[k];
            let values = &values[g * LANES..g * LANES + lanes];
            let pairs = out.iter_mut().zip(values);
            match (k == 0, k == last) {
                (true, true) => pairs.for_each(|(o, v)| *o = at_most(w * v, 1.0)),
                (true, false) => pairs.for_each(|(o, v)| *o = w * v),
                (false, false) => pairs.for_each(|(o, v)| *o += w * v),
                (false, true) => pairs.for_each(|(o, v)| *o = at_most(*o + w * v, 1.0)),
            }
        }
    }

    pub(super) fn update_indices(&self, b: &mut Block) {
        for (ti, p) in self.territories.iter().enumerate() {
            let span = ti * LANES..(ti + 1) * LANES;
            self.weighted(
                p,
                &b.engagement,
                &mut b.engagement_index[span.clone()],
                b.lanes,
            );
            self.weighted(p, &b.anchored, &mut b.stabilisation_index[span], b.lanes);
        }
    }

    /// Step 1: shocks, in declared order, territories in network order. A shock that is due
    /// draws one uniform number (64 bits of the main stream) in every run, hit or not.
    pub(super) fn shocks(&self, m: u32, b: &mut Block) {
        let lanes = b.lanes;
        for p in &self.territories {
            for shock in &p.shocks {
                if !shock.due(m) {
                    continue;
                }
                let mut hit = |j: usize| {
                    for &(g, share) in &shock.hits {
                        let i = (p.groups.start + g) * LANES + j;
                        let a = b.anchored[i];
                        b.engagement[i] = a + (b.engagement[i] - a) * (1.0 - share);
                    }
                    for &(l, months) in &shock.pause {
                        let i = l * LANES + j;
                        b.pause_end[i] = b.pause_end[i].max(m.saturating_add(months));
                    }
                };
                let random = matches!(shock.timing, ShockTiming::Random { .. });
                if self.deterministic {
                    if !random && shock.probability >= 1.0 {
                        (0..lanes).for_each(hit);
                    }
                    continue;
                }
                let chance = if random {
                    shock.hazard
                } else {
                    shock.probability
                };
                b.streams.read_pairs(1, |first_lane, _, low, high| {
                    for (l, (&low, &high)) in low.iter().zip(high).enumerate() {
                        let j = first_lane + l;
                        if j < lanes && keystream::uniform(low, high) < chance {
                            hit(j);
                        }
                    }
                });
            }
        }
    }

    /// Step 2: lever intensities, budget, spend, and this month's rates. Each quantity is
    /// computed for all lanes at once, so the sums over levers run over contiguous lanes.
    #[inline(never)]
    pub(super) fn levers(&self, m: u32, b: &mut Block) {
        let lanes = b.lanes;
        for (ti, p) in self.territories.iter().enumerate() {
            let phase = &b.phase[ti * LANES..ti * LANES + lanes];
            let cost = &mut b.levers.cost[..lanes];
            cost.fill(0.0);
            for l in p.levers.clone() {
                let lever = &self.levers[l];
                let scheduled = lever.from <= m && m < lever.until;
                let range = l * LANES..l * LANES + lanes;
                let (since, u) = (
                    &mut b.active_since[range.clone()],
                    &mut b.lever_u[range.clone()],
                );
                // Branch-free over lanes, so it runs in SIMD: every lane computes the
                // intensity it would have if active, and inactive lanes keep none of it. Months
                // fit i32 (horizon ≤ 1,200).
                let (month, ramp) = (m as i32, lever.ramp as i32);
                let after = u32::try_from(lever.after_phase).unwrap_or(u32::MAX);
                let (full, per_month, lever_cost) = (lever.intensity, f64::from(ramp), lever.cost);
                let lanes_of = since
                    .iter_mut()
                    .zip(u.iter_mut())
                    .zip(cost.iter_mut())
                    .zip(phase)
                    .zip(&b.pause_end[range]);
                for ((((since, u), cost), &phase), &pause_end) in lanes_of {
                    let active = scheduled & (phase >= after) & (m >= pause_end);
                    let start = if *since < 0 { month } else { *since };
                    // Past its ramp a lever is at full intensity: no division (the same
                    // number: min(1, elapsed / ramp) is 1 exactly when elapsed ≥ ramp).
                    let elapsed = month - start + 1;
                    let ramping = full * (f64::from(elapsed) / per_month);
                    let intensity = if elapsed >= ramp { full } else { ramping };
                    *since = if active { start } else { -1 };
                    *u = if active { intensity } else { 0.0 };
                    // Costs are ≥ 0 and start at +0: adding +0 changes nothing.
                    *cost += if active { lever_cost } else { 0.0 };
                }
            }
            // Budget rationing, branch-free over lanes (SIMD): the scale goes in m_reach until
            // the phase's multipliers are applied.
            let super::block::LeverScratch {
                cost,
                m_push,
                m_retain,
                m_anchor,
                m_reach,
                ..
            } = &mut b.levers;
            let spend = &mut b.spend[ti * LANES..ti * LANES + lanes];
            let rationed = spend
                .iter_mut()
                .zip(&mut m_reach[..lanes])
                .zip(&cost[..lanes]);
            match p.budget {
                Some(budget) => {
                    for ((spend, scale), &cost) in rationed {
                        let over = cost > budget;
                        *spend += if over { budget } else { cost };
                        *scale = if over { budget / cost } else { 1.0 };
                    }
                }
                None => {
                    for ((spend, scale), &cost) in rationed {
                        *spend += cost;
                        *scale = 1.0;
                    }
                }
            }
            let multipliers = phase
                .iter()
                .zip(&mut m_push[..lanes])
                .zip(&mut m_retain[..lanes])
                .zip(&mut m_anchor[..lanes])
                .zip(&mut m_reach[..lanes]);
            for ((((&phase, push), retain), anchor), reach) in multipliers {
                let [effect_push, effect_retain, effect_anchor, effect_reach] =
                    p.effects[phase as usize];
                let scale = *reach;
                *push = effect_push * scale;
                *retain = effect_retain * scale;
                *anchor = effect_anchor * scale;
                *reach = effect_reach * scale;
            }
            let super::block::LeverScratch {
                m_push,
                m_retain,
                m_anchor,
                m_reach,
                sum_push,
                sum_retain,
                sum_anchor,
                ..
            } = &mut b.levers;
            for (local, g) in p.groups.clone().enumerate() {
                // Σ_l u_l w_lg over the levers with w_lg ≠ 0: the first writes, the others
                // add (the same sum as from zero); zero when no lever acts on the group.
                let mut written = [false; 3];
                for l in p.levers.clone() {
                    let lever = &self.levers[l];
                    let u = &b.lever_u[l * LANES..l * LANES + lanes];
                    for ((sum, w), written) in [
                        (&mut sum_push[..lanes], lever.push[local]),
                        (&mut sum_retain[..lanes], lever.retain[local]),
                        (&mut sum_anchor[..lanes], lever.anchor[local]),
                    ]
                    .into_iter()
                    .zip(&mut written)
                    {
                        if w == 0.0 {
                            continue;
                        }
                        let pairs = sum.iter_mut().zip(u);
                        if *written {
                            pairs.for_each(|(s, u)| *s += u * w);
                        } else {
                            pairs.for_each(|(s, u)| *s = u * w);
                            *written = true;
                        }
                    }
                }
                for (sum, written) in [
                    &mut sum_push[..lanes],
                    &mut sum_retain[..lanes],
                    &mut sum_anchor[..lanes],
                ]
                .into_iter()
                .zip(written)
                {
                    if !written {
                        sum.fill(0.0);
                    }
                }
                let range = g * LANES..g * LANES + lanes;
                let (adoption, fatigue) = (self.adoption[g], self.fatigue[g]);
                let rows = b.base_push[range.clone()].iter_mut().zip(&m_push[..lanes]);
                for (x, (m, sum)) in rows.zip(&sum_push[..lanes]).map(|((x, m), s)| (x, (m, s))) {
                    *x = adoption + m * sum;
                }
                let rows = b.month_fatigue[range.clone()]
                    .iter_mut()
                    .zip(&m_retain[..lanes]);
                for ((x, m), sum) in rows.zip(&sum_retain[..lanes]) {
                    *x = fatigue * at_least(1.0 - m * sum, 0.0);
                }
                let rows = b.month_anchor[range].iter_mut().zip(&m_anchor[..lanes]);
                for ((x, m), sum) in rows.zip(&sum_anchor[..lanes]) {
                    *x = m * sum;
                }
            }
            let reach = &mut b.month_reach[ti * LANES..ti * LANES + lanes];
            reach.fill(0.0);
            for l in p.levers.clone() {
                let w = self.levers[l].reach;
                if w != 0.0 {
                    for (r, u) in reach
                        .iter_mut()
                        .zip(&b.lever_u[l * LANES..l * LANES + lanes])
                    {
                        *r += u * w;
                    }
                }
            }
            for (r, m) in reach.iter_mut().zip(m_reach.iter()) {
                *r *= m;
            }
        }
    }

    /// The noise ξ of the next `substeps` substeps: one 32-bit word of each run's stream per
    /// group and substep, in the model's order (substep, then groups in global order), turned
    /// into normals two by two: words 2m and 2m + 1 give normals 2m and 2m + 1 (Box–Muller,
    /// [`normal::pairs`]). When the count is odd, one more word completes the last pair, whose
    /// second normal is not used; the engine's batches of substeps hold an even count except
    /// the month's last (see `batch` in [`Engine::new`]), so a month of G groups and S substeps
    /// takes 2⌈G·S/2⌉ words however it is batched. The words of a chunk of lanes come side by
    /// side ([`Streams::read_pairs`]) and are turned into normals side by side (SIMD), each stored
    /// as one piece of its row. The last chunk may reach past the block's lanes into spare
    /// lanes (there are LANES of them, a multiple of CHUNK); their normals are never read.
    #[inline(never)]
    pub(super) fn draw_noise(&self, b: &mut Block, substeps: u32) {
        let rows = substeps as usize * self.e0.len();
        let xi = &mut b.xi;
        b.streams
            .read_pairs(rows.div_ceil(2), |first_lane, m, a, b| {
                let (x, y) = normal::pairs(a, b);
                let at = 2 * m * NOISE_STRIDE + first_lane;
                xi[at..at + CHUNK].copy_from_slice(&x);
                if 2 * m + 1 < rows {
                    xi[at + NOISE_STRIDE..at + NOISE_STRIDE + CHUNK].copy_from_slice(&y);
                }
            });
    }

    /// Step 3: one explicit Euler substep, every derivative from the state at its start; the
    /// noise of group g is row `noise_row + g` of the block's drawn normals.
    #[inline(never)]
    pub(super) fn substep(&self, b: &mut Block, noise_row: usize) {
        let (h, lanes) = (self.h, b.lanes);
        for (ti, p) in self.territories.iter().enumerate() {
            self.weighted(
                p,
                &b.engagement,
                &mut b.substep_index[ti * LANES..(ti + 1) * LANES],
                lanes,
            );
        }
        // Group by group, over all lanes: the push, then the Euler update.
        for g in 0..self.e0.len() {
            let lane = g * LANES..g * LANES + lanes;
            let push = &mut b.push[..lanes];
            let base = &b.base_push[lane.clone()];
            // The first influence is added to the base push as it is copied (same sum).
            match self.inputs[self.input_start[g]..self.input_start[g + 1]].split_first() {
                Some((&(h_group, w), rest)) => {
                    let eh = row(&b.engagement, h_group, lanes);
                    for ((x, base), e) in push.iter_mut().zip(base).zip(eh) {
                        *x = base + w * e;
                    }
                    for &(h_group, w) in rest {
                        for (x, e) in push.iter_mut().zip(row(&b.engagement, h_group, lanes)) {
                            *x += w * e;
                        }
                    }
                }
                None => push.copy_from_slice(base),
            }
            for &(peer, x) in &self.peers[self.peer_start[g]..self.peer_start[g + 1]] {
                let ep = row(&b.engagement, peer, lanes);
                let eg = row(&b.engagement, g, lanes);
                for ((s, p), e) in push.iter_mut().zip(ep).zip(eg) {
                    *s += x * at_least(p - e, 0.0);
                }
            }
            let (noise, erosion) = (self.noise[g], self.erosion[g]);
            // Equal-length slices: no bounds checks, and the loop runs over lanes in SIMD.
            let e = &b.engagement[lane.clone()][..lanes];
            let a = &b.anchored[lane.clone()][..lanes];
            let f = &b.month_fatigue[lane.clone()][..lanes];
            let k = &b.month_anchor[lane.clone()][..lanes];
            let xi = &b.xi[(noise_row + g) * NOISE_STRIDE..][..lanes];
            let next_e = &mut b.next_e[lane.clone()][..lanes];
            let next_a = &mut b.next_a[lane][..lanes];
            let push = &push[..lanes];
            for j in 0..lanes {
                let (e, a) = (e[j], a[j]);
                let de = (push[j] * (1.0 - e) - f[j] * (e - a)) * h + noise * f64::from(xi[j]);
                let da = (k[j] * (e - a) - erosion * a) * h;
                // Comparisons rather than f64::max/min, whose NaN handling costs three
                // instructions each; nothing here is NaN (the fuzzer checks it).
                let new_a = at_most(at_least(a + da, 0.0), 1.0);
                next_a[j] = new_a;
                next_e[j] = at_most(at_least(e + de, new_a), 1.0);
            }
        }
        for (ti, p) in self.territories.iter().enumerate() {
            let span = ti * LANES..ti * LANES + lanes;
            let pr = &mut b.push[..lanes];
            for (x, m) in pr.iter_mut().zip(&b.month_reach[span.clone()]) {
                *x = p.innovation + m;
            }
            for &(peer, spill) in &p.spill {
                for (x, r) in pr.iter_mut().zip(row(&b.reach, peer, lanes)) {
                    *x += spill * r;
                }
            }
            let reach = &b.reach[span.clone()];
            let index = &b.substep_index[span.clone()];
            for (((next, &r), &s), &pr) in b.next_r[span]
                .iter_mut()
                .zip(reach)
                .zip(index)
                .zip(pr.iter())
            {
                let q = p.imitation * s;
                *next = at_most(at_least(r + (pr + q * r) * (1.0 - r) * h, 0.0), 1.0);
            }
        }
        std::mem::swap(&mut b.engagement, &mut b.next_e);
        std::mem::swap(&mut b.anchored, &mut b.next_a);
        std::mem::swap(&mut b.reach, &mut b.next_r);
    }

    /// Step 5: perpetuation.
    pub(super) fn perpetuation(&self, b: &mut Block) {
        for (ti, p) in self.territories.iter().enumerate() {
            for j in 0..b.lanes {
                let i = ti * LANES + j;
                if !b.watched[i] {
                    continue;
                }
                if b.engagement_index[i] < p.collapse {
                    b.below[i] += 1;
                } else {
                    b.below[i] = 0;
                }
                if b.below[i] >= p.grace {
                    b.alive[i] = false;
                }
            }
        }
    }

    /// Step 6: phase transitions.
    #[inline(never)]
    pub(super) fn phases(&self, t: u32, b: &mut Block) {
        for (ti, p) in self.territories.iter().enumerate() {
            for j in 0..b.lanes {
                let i = ti * LANES + j;
                let value = |c: &Condition| match c.index {
                    IndexKind::Engagement => b.engagement_index[i],
                    IndexKind::Stabilisation => b.stabilisation_index[i],
                    IndexKind::Scale => b.reach[i],
                };
                let k = b.phase[i] as usize;
                let mut next = k;
                if k + 1 < p.phases.len() {
                    let target = &p.phases[k + 1];
                    let holds = target.enter.iter().all(|c| value(c) >= c.threshold);
                    b.up[i] = if holds { b.up[i] + 1 } else { 0 };
                    if b.up[i] >= target.hold {
                        next = k + 1;
                    }
                }
                if next == k && !p.phases[k].fallback.is_empty() {
                    let falls = p.phases[k].fallback.iter().any(|c| value(c) < c.threshold);
                    b.down[i] = if falls { b.down[i] + 1 } else { 0 };
                    if b.down[i] >= p.phases[k].hold {
                        next = k - 1;
                    }
                }
                if next != k {
                    b.phase[i] = next as u32;
                    b.up[i] = 0;
                    b.down[i] = 0;
                    let slot = (p.phase_offset + next) * LANES + j;
                    if b.entry_month[slot] < 0 {
                        b.entry_month[slot] = t as i32;
                    }
                    if next >= p.watch_phase {
                        b.watched[i] = true;
                    }
                }
            }
        }
    }
}
