//! Compiling a validated model into the engine's dense arrays: per group, per lever, per
//! territory, with every name already an index and every lever's effects a dense row.

use super::{Engine, MAX_NOISE_ROWS};
use crate::model::{Condition, Model, ShockTiming};

/// A lever, compiled: dense effect rows over its territory's groups.
#[derive(Debug, Clone)]
pub(super) struct LeverPlan {
    pub(super) from: u32,
    pub(super) until: u32,
    pub(super) after_phase: usize,
    pub(super) cost: f64,
    pub(super) ramp: u32,
    pub(super) intensity: f64,
    /// push, retain, anchor per local group.
    pub(super) push: Vec<f64>,
    pub(super) retain: Vec<f64>,
    pub(super) anchor: Vec<f64>,
    pub(super) reach: f64,
}

#[derive(Debug, Clone)]
pub(super) struct ShockPlan {
    pub(super) timing: ShockTiming,
    pub(super) probability: f64,
    /// 1 − e^(−rate) for random shocks.
    pub(super) hazard: f64,
    /// (local group, hit share).
    pub(super) hits: Vec<(usize, f64)>,
    /// (global lever index, months).
    pub(super) pause: Vec<(usize, u32)>,
}

impl ShockPlan {
    pub(super) fn due(&self, m: u32) -> bool {
        match &self.timing {
            ShockTiming::Periodic { every, first } => {
                m >= *first && (m - first).is_multiple_of(*every)
            }
            ShockTiming::Scheduled { at } => at.binary_search(&m).is_ok(),
            ShockTiming::Random { .. } => true,
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct PhasePlan {
    pub(super) enter: Vec<Condition>,
    pub(super) fallback: Vec<Condition>,
    pub(super) hold: u32,
}

#[derive(Debug, Clone)]
pub(super) struct TerritoryPlan {
    /// Global group indices of this territory.
    pub(super) groups: std::ops::Range<usize>,
    /// Global lever indices.
    pub(super) levers: std::ops::Range<usize>,
    /// Offset of this territory's phases in per-(territory, phase) arrays.
    pub(super) phase_offset: usize,
    /// W, row-major over local groups.
    pub(super) influence: Vec<f64>,
    /// ω_g / Σω for each local group.
    pub(super) weight: Vec<f64>,
    pub(super) shocks: Vec<ShockPlan>,
    pub(super) phases: Vec<PhasePlan>,
    /// Each phase's effect multipliers (push, retain, anchor, reach), side by side.
    pub(super) effects: Vec<[f64; 4]>,
    pub(super) budget: Option<f64>,
    pub(super) innovation: f64,
    pub(super) imitation: f64,
    pub(super) initial: f64,
    pub(super) collapse: f64,
    pub(super) grace: u32,
    pub(super) watch_phase: usize,
    /// (peer territory, spillover s).
    pub(super) spill: Vec<(usize, f64)>,
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
                    // A lever costs `cost` at intensity 1, in proportion to its planned intensity
                    // (docs/model.md, One month): intensity 0 is the lever off, at no cost.
                    cost: l.cost * l.intensity,
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
                effects: t
                    .phases
                    .iter()
                    .map(|p| {
                        [
                            p.effect.push,
                            p.effect.retain,
                            p.effect.anchor,
                            p.effect.reach,
                        ]
                    })
                    .collect(),
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
        let mut input_start = vec![0];
        let mut inputs = Vec::new();
        for p in &territories {
            let n = p.groups.len();
            for local in 0..n {
                for (h, &w) in p.influence[local * n..(local + 1) * n].iter().enumerate() {
                    if w != 0.0 {
                        inputs.push((p.groups.start + h, w));
                    }
                }
                input_start.push(inputs.len());
            }
        }
        // Substeps of noise drawn per visit to the runs' streams: as many as fit in the rows;
        // one more if that leaves an odd number of normals before the month's last batch, so
        // that normals pair up within batches exactly as within the month (see draw_noise).
        let mut batch = (MAX_NOISE_ROWS / e0.len().max(1)).clamp(1, substeps as usize);
        if batch < substeps as usize && batch * e0.len() % 2 == 1 {
            batch += 1;
        }
        let batch = batch as u32;
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
            input_start,
            inputs,
            horizon: model.horizon(),
            substeps,
            batch,
            h,
            deterministic,
            draws,
        }
    }
}
