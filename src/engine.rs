//! Stage 3 — the engine: the model compiled into dense arrays, a small per-run state, and the
//! monthly step of MODEL.md §2 (shocks → levers → Euler substeps → indices → perpetuation →
//! phase).
//!
//! Groups of every territory live in one flat array (territories in network order, groups in
//! declared order), which is also the order of the normal draws. Stepping allocates nothing:
//! [`RunState`] owns every buffer and is reused from run to run.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::model::{Condition, IndexKind, Model, ShockTiming};

/// The random stream of run `run` under master seed `seed`: ChaCha8 seeded from the seed, on
/// stream `run`. It depends on (seed, run) only, so results do not depend on threads or on how
/// runs are split into shards.
pub fn run_rng(seed: u64, run: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(run);
    rng
}

/// A lever, compiled: dense effect rows over its territory's groups.
#[derive(Debug, Clone)]
struct LeverPlan {
    from: u32,
    until: u32,
    after_phase: usize,
    cost: f64,
    ramp: u32,
    intensity: f64,
    /// push, retain, anchor per local group.
    push: Vec<f64>,
    retain: Vec<f64>,
    anchor: Vec<f64>,
    reach: f64,
}

#[derive(Debug, Clone)]
struct ShockPlan {
    timing: ShockTiming,
    probability: f64,
    /// 1 − e^(−rate) for random shocks.
    hazard: f64,
    /// (local group, hit share).
    hits: Vec<(usize, f64)>,
    /// (global lever index, months).
    pause: Vec<(usize, u32)>,
}

impl ShockPlan {
    fn due(&self, m: u32) -> bool {
        match &self.timing {
            ShockTiming::Periodic { every, first } => m >= *first && (m - first) % every == 0,
            ShockTiming::Scheduled { at } => at.binary_search(&m).is_ok(),
            ShockTiming::Random { .. } => true,
        }
    }
}

#[derive(Debug, Clone)]
struct PhasePlan {
    enter: Vec<Condition>,
    fallback: Vec<Condition>,
    hold: u32,
    push: f64,
    retain: f64,
    anchor: f64,
    reach: f64,
}

#[derive(Debug, Clone)]
struct TerritoryPlan {
    /// Global group indices of this territory.
    groups: std::ops::Range<usize>,
    /// Global lever indices.
    levers: std::ops::Range<usize>,
    /// Offset of this territory's phases in per-(territory, phase) arrays.
    phase_offset: usize,
    /// W, row-major over local groups.
    influence: Vec<f64>,
    /// ω_g / Σω for each local group.
    weight: Vec<f64>,
    shocks: Vec<ShockPlan>,
    phases: Vec<PhasePlan>,
    budget: Option<f64>,
    innovation: f64,
    imitation: f64,
    initial: f64,
    collapse: f64,
    grace: u32,
    watch_phase: usize,
    /// (peer territory, spillover s).
    spill: Vec<(usize, f64)>,
}

/// The compiled model.
#[derive(Debug, Clone)]
pub struct Engine {
    territories: Vec<TerritoryPlan>,
    levers: Vec<LeverPlan>,
    // Per global group.
    adoption: Vec<f64>,
    fatigue: Vec<f64>,
    erosion: Vec<f64>,
    /// σ √h.
    noise: Vec<f64>,
    e0: Vec<f64>,
    a0: Vec<f64>,
    /// CSR list of peers: for group g, `peers[peer_start[g]..peer_start[g + 1]]` are
    /// (global peer group, exchange x).
    peer_start: Vec<usize>,
    peers: Vec<(usize, f64)>,
    horizon: u32,
    substeps: u32,
    h: f64,
    deterministic: bool,
    draws: bool,
}

/// Everything about one run that changes as it is stepped. Allocated once per worker.
#[derive(Debug, Clone)]
pub struct RunState {
    /// Engagement E per global group.
    pub engagement: Vec<f64>,
    /// Anchored engagement A per global group.
    pub anchored: Vec<f64>,
    /// Reach r per territory.
    pub reach: Vec<f64>,
    /// Engagement index e per territory (at the last month boundary).
    pub engagement_index: Vec<f64>,
    /// Stabilisation index s per territory.
    pub stabilisation_index: Vec<f64>,
    /// Current phase per territory.
    pub phase: Vec<usize>,
    /// Alive (not abandoned) per territory.
    pub alive: Vec<bool>,
    /// Entry month per (territory, phase); −1 when never entered.
    pub entry_month: Vec<i32>,
    /// Total spend per territory.
    pub spend: Vec<f64>,
    watched: Vec<bool>,
    below: Vec<u32>,
    up: Vec<u32>,
    down: Vec<u32>,
    pause_end: Vec<u32>,
    /// Activation month of each lever's current active stretch, −1 when inactive.
    active_since: Vec<i64>,
    // Monthly per group: total push rate (α + P), fatigue f, anchoring K.
    base_push: Vec<f64>,
    month_fatigue: Vec<f64>,
    month_anchor: Vec<f64>,
    // Monthly per territory: R.
    month_reach: Vec<f64>,
    // Substep scratch.
    next_e: Vec<f64>,
    next_a: Vec<f64>,
    next_r: Vec<f64>,
    substep_index: Vec<f64>,
    lever_u: Vec<f64>,
}

impl Engine {
    /// Compiles a validated model.
    pub fn new(model: &Model) -> Engine {
        let substeps = model.settings.substeps.max(1);
        let h = 1.0 / f64::from(substeps);
        let deterministic = model.settings.deterministic;
        let mut territories = Vec::new();
        let mut levers = Vec::new();
        let (mut adoption, mut fatigue, mut erosion, mut noise, mut e0, mut a0) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        let mut group_offset = 0;
        let mut phase_offset = 0;
        for (ti, t) in model.territories.iter().enumerate() {
            let n = t.groups.len();
            let total_weight: f64 = t.groups.iter().map(|g| g.weight).sum();
            for g in &t.groups {
                adoption.push(g.adoption);
                fatigue.push(g.fatigue);
                erosion.push(g.erosion);
                noise.push(if deterministic {
                    0.0
                } else {
                    g.volatility * h.sqrt()
                });
                e0.push(g.engagement);
                a0.push(g.anchored);
            }
            let lever_offset = levers.len();
            for l in &t.levers {
                let dense = |pairs: &[(usize, f64)]| {
                    let mut row = vec![0.0; n];
                    for &(g, x) in pairs {
                        row[g] += x;
                    }
                    row
                };
                levers.push(LeverPlan {
                    from: l.from,
                    until: l.until.unwrap_or(u32::MAX),
                    after_phase: l.after_phase,
                    cost: l.cost,
                    ramp: l.ramp,
                    intensity: l.intensity,
                    push: dense(&l.push),
                    retain: dense(&l.retain),
                    anchor: dense(&l.anchor),
                    reach: l.reach,
                });
            }
            let shocks = t
                .shocks
                .iter()
                .map(|s| ShockPlan {
                    timing: s.timing.clone(),
                    probability: s.probability,
                    hazard: match s.timing {
                        ShockTiming::Random { rate } => -(-rate).exp_m1(),
                        _ => 0.0,
                    },
                    hits: s.hits.clone(),
                    pause: s
                        .pause
                        .iter()
                        .map(|&(l, m)| (lever_offset + l, m))
                        .collect(),
                })
                .collect();
            let phases = t
                .phases
                .iter()
                .map(|p| PhasePlan {
                    enter: p.enter.clone(),
                    fallback: p.fallback.clone(),
                    hold: p.hold,
                    push: p.effect.push,
                    retain: p.effect.retain,
                    anchor: p.effect.anchor,
                    reach: p.effect.reach,
                })
                .collect();
            let spill = model
                .links
                .iter()
                .filter_map(|l| match l.between {
                    (a, b) if a == ti => Some((b, l.spillover)),
                    (a, b) if b == ti => Some((a, l.spillover)),
                    _ => None,
                })
                .filter(|&(_, s)| s != 0.0)
                .collect();
            territories.push(TerritoryPlan {
                groups: group_offset..group_offset + n,
                levers: lever_offset..levers.len(),
                phase_offset,
                influence: t.influence.clone(),
                weight: t.groups.iter().map(|g| g.weight / total_weight).collect(),
                shocks,
                phases,
                budget: t.budget,
                innovation: t.scale.innovation,
                imitation: t.scale.imitation,
                initial: t.scale.initial,
                collapse: t.perpetuation.collapse,
                grace: t.perpetuation.grace,
                watch_phase: t.perpetuation.after_phase,
                spill,
            });
            group_offset += n;
            phase_offset += t.phases.len();
        }
        // Peers: same group id in a linked territory.
        let mut peer_start = vec![0];
        let mut peers = Vec::new();
        for (ti, t) in model.territories.iter().enumerate() {
            for g in &t.groups {
                for l in &model.links {
                    let other = match l.between {
                        (a, b) if a == ti => b,
                        (a, b) if b == ti => a,
                        _ => continue,
                    };
                    if l.exchange == 0.0 {
                        continue;
                    }
                    let ot = &model.territories[other];
                    if let Some(h) = ot.groups.iter().position(|x| x.id == g.id) {
                        peers.push((territories[other].groups.start + h, l.exchange));
                    }
                }
                peer_start.push(peers.len());
            }
        }
        let draws = !deterministic
            && (noise.iter().any(|&s| s > 0.0) || territories.iter().any(|t| !t.shocks.is_empty()));
        Engine {
            territories,
            levers,
            adoption,
            fatigue,
            erosion,
            noise,
            e0,
            a0,
            peer_start,
            peers,
            horizon: model.horizon(),
            substeps,
            h,
            deterministic,
            draws,
        }
    }

    /// Whether runs use random draws at all; when not, every run is the same.
    pub fn is_stochastic(&self) -> bool {
        self.draws
    }

    /// Months simulated.
    pub fn horizon(&self) -> u32 {
        self.horizon
    }

    /// Number of territories.
    pub fn territory_count(&self) -> usize {
        self.territories.len()
    }

    /// Global group range of territory `t`.
    pub fn groups_of(&self, t: usize) -> std::ops::Range<usize> {
        self.territories[t].groups.clone()
    }

    /// Number of phases of territory `t`, and the offset of its phases in `entry_month`.
    pub fn phases_of(&self, t: usize) -> (usize, usize) {
        let p = &self.territories[t];
        (p.phases.len(), p.phase_offset)
    }

    /// Largest total spend a run of territory `t` can reach.
    pub fn max_spend(&self, t: usize) -> f64 {
        let p = &self.territories[t];
        let monthly: f64 = self.levers[p.levers.clone()].iter().map(|l| l.cost).sum();
        let monthly = p.budget.map_or(monthly, |b| monthly.min(b));
        monthly * f64::from(self.horizon)
    }

    /// A fresh state sized for this engine.
    pub fn new_state(&self) -> RunState {
        let g = self.e0.len();
        let t = self.territories.len();
        let l = self.levers.len();
        let phases: usize = self.territories.iter().map(|p| p.phases.len()).sum();
        RunState {
            engagement: vec![0.0; g],
            anchored: vec![0.0; g],
            reach: vec![0.0; t],
            engagement_index: vec![0.0; t],
            stabilisation_index: vec![0.0; t],
            phase: vec![0; t],
            alive: vec![true; t],
            entry_month: vec![-1; phases],
            spend: vec![0.0; t],
            watched: vec![false; t],
            below: vec![0; t],
            up: vec![0; t],
            down: vec![0; t],
            pause_end: vec![0; l],
            active_since: vec![-1; l],
            base_push: vec![0.0; g],
            month_fatigue: vec![0.0; g],
            month_anchor: vec![0.0; g],
            month_reach: vec![0.0; t],
            next_e: vec![0.0; g],
            next_a: vec![0.0; g],
            next_r: vec![0.0; t],
            substep_index: vec![0.0; t],
            lever_u: vec![0.0; l],
        }
    }

    fn reset(&self, s: &mut RunState) {
        s.engagement.copy_from_slice(&self.e0);
        s.anchored.copy_from_slice(&self.a0);
        s.phase.fill(0);
        s.alive.fill(true);
        s.entry_month.fill(-1);
        s.spend.fill(0.0);
        s.below.fill(0);
        s.up.fill(0);
        s.down.fill(0);
        s.pause_end.fill(0);
        s.active_since.fill(-1);
        for (ti, p) in self.territories.iter().enumerate() {
            s.reach[ti] = p.initial;
            s.watched[ti] = p.watch_phase == 0;
            s.entry_month[p.phase_offset] = 0;
        }
        self.update_indices(s);
    }

    fn update_indices(&self, s: &mut RunState) {
        for (ti, p) in self.territories.iter().enumerate() {
            let (mut e, mut a) = (0.0, 0.0);
            for (k, g) in p.groups.clone().enumerate() {
                e += p.weight[k] * s.engagement[g];
                a += p.weight[k] * s.anchored[g];
            }
            // Normalised weights sum to 1 up to rounding: keep the indices in [0, 1].
            s.engagement_index[ti] = e.min(1.0);
            s.stabilisation_index[ti] = a.min(1.0);
        }
    }

    /// Steps one run from month 0 to the horizon. `observe(t, state)` is called at t = 0 and
    /// after each month t = 1..=horizon.
    pub fn run<R: rand::Rng>(
        &self,
        rng: &mut R,
        s: &mut RunState,
        mut observe: impl FnMut(u32, &RunState),
    ) {
        self.reset(s);
        observe(0, s);
        for m in 0..self.horizon {
            self.shocks(m, rng, s);
            self.levers(m, s);
            for _ in 0..self.substeps {
                self.substep(rng, s);
            }
            self.update_indices(s);
            let t = m + 1;
            self.perpetuation(s);
            self.phases(t, s);
            observe(t, s);
        }
    }

    /// Step 1: shocks, in declared order, territories in network order.
    fn shocks<R: rand::Rng>(&self, m: u32, rng: &mut R, s: &mut RunState) {
        for p in &self.territories {
            for shock in &p.shocks {
                if !shock.due(m) {
                    continue;
                }
                let hit = if self.deterministic {
                    !matches!(shock.timing, ShockTiming::Random { .. }) && shock.probability >= 1.0
                } else {
                    let u: f64 = rng.random();
                    match shock.timing {
                        ShockTiming::Random { .. } => u < shock.hazard,
                        _ => u < shock.probability,
                    }
                };
                if !hit {
                    continue;
                }
                for &(g, share) in &shock.hits {
                    let g = p.groups.start + g;
                    let a = s.anchored[g];
                    s.engagement[g] = a + (s.engagement[g] - a) * (1.0 - share);
                }
                for &(l, months) in &shock.pause {
                    s.pause_end[l] = s.pause_end[l].max(m.saturating_add(months));
                }
            }
        }
    }

    /// Step 2: lever intensities, budget, spend, and this month's rates.
    fn levers(&self, m: u32, s: &mut RunState) {
        for (ti, p) in self.territories.iter().enumerate() {
            let k = s.phase[ti];
            let mut cost = 0.0;
            for l in p.levers.clone() {
                let lever = &self.levers[l];
                let active = lever.from <= m
                    && m < lever.until
                    && k >= lever.after_phase
                    && m >= s.pause_end[l];
                if !active {
                    s.active_since[l] = -1;
                    s.lever_u[l] = 0.0;
                    continue;
                }
                if s.active_since[l] < 0 {
                    s.active_since[l] = i64::from(m);
                }
                let ramp = if lever.ramp == 0 {
                    1.0
                } else {
                    let elapsed = (i64::from(m) - s.active_since[l] + 1) as f64;
                    (elapsed / f64::from(lever.ramp)).min(1.0)
                };
                s.lever_u[l] = lever.intensity * ramp;
                cost += lever.cost;
            }
            let scale = match p.budget {
                Some(b) if cost > b => {
                    s.spend[ti] += b;
                    b / cost
                }
                _ => {
                    s.spend[ti] += cost;
                    1.0
                }
            };
            let phase = &p.phases[k];
            let mut reach = 0.0;
            for (local, g) in p.groups.clone().enumerate() {
                let (mut push, mut retain, mut anchor) = (0.0, 0.0, 0.0);
                for l in p.levers.clone() {
                    let u = s.lever_u[l];
                    if u == 0.0 {
                        continue;
                    }
                    let lever = &self.levers[l];
                    push += u * lever.push[local];
                    retain += u * lever.retain[local];
                    anchor += u * lever.anchor[local];
                }
                s.base_push[g] = self.adoption[g] + phase.push * scale * push;
                let retain = phase.retain * scale * retain;
                s.month_fatigue[g] = self.fatigue[g] * (1.0 - retain).max(0.0);
                s.month_anchor[g] = phase.anchor * scale * anchor;
            }
            for l in p.levers.clone() {
                reach += s.lever_u[l] * self.levers[l].reach;
            }
            s.month_reach[ti] = phase.reach * scale * reach;
        }
    }

    /// Step 3: one explicit Euler substep, every derivative from the state at its start.
    fn substep<R: rand::Rng>(&self, rng: &mut R, s: &mut RunState) {
        let h = self.h;
        // Engagement index at the start of the substep (for imitation q = q0·e).
        for (ti, p) in self.territories.iter().enumerate() {
            let mut e = 0.0;
            for (k, g) in p.groups.clone().enumerate() {
                e += p.weight[k] * s.engagement[g];
            }
            s.substep_index[ti] = e;
        }
        for p in &self.territories {
            let n = p.groups.len();
            let start = p.groups.start;
            for local in 0..n {
                let g = start + local;
                let e = s.engagement[g];
                let a = s.anchored[g];
                let row = &p.influence[local * n..(local + 1) * n];
                let mut push = s.base_push[g];
                for (w, eh) in row.iter().zip(&s.engagement[start..start + n]) {
                    push += w * eh;
                }
                for &(peer, x) in &self.peers[self.peer_start[g]..self.peer_start[g + 1]] {
                    push += x * (s.engagement[peer] - e).max(0.0);
                }
                let xi: f64 = if self.draws {
                    StandardNormal.sample(rng)
                } else {
                    0.0
                };
                let de = (push * (1.0 - e) - s.month_fatigue[g] * (e - a)) * h + self.noise[g] * xi;
                let da = (s.month_anchor[g] * (e - a) - self.erosion[g] * a) * h;
                let new_a = (a + da).clamp(0.0, 1.0);
                s.next_a[g] = new_a;
                s.next_e[g] = (e + de).clamp(new_a, 1.0);
            }
        }
        for (ti, p) in self.territories.iter().enumerate() {
            let r = s.reach[ti];
            let mut pr = p.innovation + s.month_reach[ti];
            for &(peer, spill) in &p.spill {
                pr += spill * s.reach[peer];
            }
            let q = p.imitation * s.substep_index[ti];
            s.next_r[ti] = (r + (pr + q * r) * (1.0 - r) * h).clamp(0.0, 1.0);
        }
        std::mem::swap(&mut s.engagement, &mut s.next_e);
        std::mem::swap(&mut s.anchored, &mut s.next_a);
        std::mem::swap(&mut s.reach, &mut s.next_r);
    }

    /// Step 5: perpetuation.
    fn perpetuation(&self, s: &mut RunState) {
        for (ti, p) in self.territories.iter().enumerate() {
            if !s.watched[ti] {
                continue;
            }
            if s.engagement_index[ti] < p.collapse {
                s.below[ti] += 1;
            } else {
                s.below[ti] = 0;
            }
            if s.below[ti] >= p.grace {
                s.alive[ti] = false;
            }
        }
    }

    /// Step 6: phase transitions.
    fn phases(&self, t: u32, s: &mut RunState) {
        for (ti, p) in self.territories.iter().enumerate() {
            let value = |c: &Condition| match c.index {
                IndexKind::Engagement => s.engagement_index[ti],
                IndexKind::Stabilisation => s.stabilisation_index[ti],
                IndexKind::Scale => s.reach[ti],
            };
            let k = s.phase[ti];
            let mut next = k;
            if k + 1 < p.phases.len() {
                let target = &p.phases[k + 1];
                if target.enter.iter().all(|c| value(c) >= c.threshold) {
                    s.up[ti] += 1;
                } else {
                    s.up[ti] = 0;
                }
                if s.up[ti] >= target.hold {
                    next = k + 1;
                }
            }
            if next == k && !p.phases[k].fallback.is_empty() {
                if p.phases[k].fallback.iter().any(|c| value(c) < c.threshold) {
                    s.down[ti] += 1;
                } else {
                    s.down[ti] = 0;
                }
                if s.down[ti] >= p.phases[k].hold {
                    next = k - 1;
                }
            }
            if next != k {
                s.phase[ti] = next;
                s.up[ti] = 0;
                s.down[ti] = 0;
                let slot = p.phase_offset + next;
                if s.entry_month[slot] < 0 {
                    s.entry_month[slot] = t as i32;
                }
                if next >= p.watch_phase {
                    s.watched[ti] = true;
                }
            }
        }
    }
}
