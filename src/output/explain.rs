//! `trajectoire explain`: the model in plain words, with its numbers.

use std::fmt::Write;

use crate::model::{Condition, Model, ShockTiming, Territory};

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

fn conditions(cs: &[Condition], joiner: &str, cmp: &str) -> String {
    cs.iter()
        .map(|c| format!("{} {cmp} {}", c.index.name(), c.threshold))
        .collect::<Vec<_>>()
        .join(joiner)
}

fn month(t: &Territory, m: u32) -> String {
    match t.start_year {
        Some(y) => format!(
            "month {m} ({} {})",
            MONTHS[(m % 12) as usize],
            i64::from(y) + i64::from(m / 12)
        ),
        None => format!("month {m}"),
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn territory(out: &mut String, t: &Territory) {
    let _ = writeln!(out, "== {} ({}) ==", t.name, t.id);
    if let Some(d) = &t.description {
        let _ = writeln!(out, "{d}");
    }
    let _ = writeln!(
        out,
        "{} inhabitants; {} months simulated{}; budget for levers: {}.",
        t.population,
        t.horizon,
        t.start_year
            .map_or(String::new(), |y| format!(" from January {y}")),
        t.budget
            .map_or("no limit".into(), |b| format!("{b} € a month"))
    );
    let _ = writeln!(
        out,
        "\nActor groups (E0 engaged, A0 anchored; monthly rates):"
    );
    let n = t.groups.len();
    for (g, grp) in t.groups.iter().enumerate() {
        let _ = writeln!(
            out,
            "  - {} ({}): weight {}, starts {} engaged of which {} anchored; adopts at {}/month, tires at {}/month (non-anchored), anchored erodes at {}/month, noise σ = {} per √month{}",
            grp.label,
            grp.id,
            grp.weight,
            pct(grp.engagement),
            pct(grp.anchored),
            grp.adoption,
            grp.fatigue,
            grp.erosion,
            grp.volatility,
            grp.size.map_or(String::new(), |s| format!("; {s} people"))
        );
        let by: Vec<String> = (0..n)
            .filter(|&h| t.influence[g * n + h] > 0.0)
            .map(|h| format!("{} ({})", t.groups[h].id, t.influence[g * n + h]))
            .collect();
        if !by.is_empty() {
            let _ = writeln!(out, "      influenced by: {}", by.join(", "));
        }
    }
    let _ = writeln!(
        out,
        "\nPhases (a run starts in the first and moves at most one step a month):"
    );
    for (k, p) in t.phases.iter().enumerate() {
        let mut line = format!("  {}. {}", k + 1, p.label);
        if !p.enter.is_empty() {
            let _ = write!(
                line,
                " — entered when {} for {} month(s) in a row",
                conditions(&p.enter, " and ", "≥"),
                p.hold
            );
        }
        if !p.fallback.is_empty() {
            let _ = write!(
                line,
                "; falls back when {} for {} month(s)",
                conditions(&p.fallback, " or ", "<"),
                p.hold
            );
        }
        let e = p.effect;
        if (e.push, e.retain, e.anchor, e.reach) != (1.0, 1.0, 1.0, 1.0) {
            let _ = write!(
                line,
                "; lever effects × push {}, retain {}, anchor {}, reach {}",
                e.push, e.retain, e.anchor, e.reach
            );
        }
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "\nLevers (action methodologies):");
    if t.levers.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for l in &t.levers {
        let until = l.until.map_or("the end".into(), |u| month(t, u));
        let _ = writeln!(
            out,
            "  - {} ({}{}): from {} to {}{}, costs {} € a month (cost {} × intensity {}){}",
            l.label,
            l.id,
            l.uses
                .as_ref()
                .map_or(String::new(), |u| format!(", from the référentiel's `{u}`")),
            month(t, l.from),
            until,
            if l.after_phase > 0 {
                format!(" once in phase `{}`", t.phases[l.after_phase].id)
            } else {
                String::new()
            },
            l.cost * l.intensity,
            l.cost,
            l.intensity,
            if l.ramp > 0 {
                format!(", reaching full intensity over {} months", l.ramp)
            } else {
                String::new()
            },
        );
        let effects = |name: &str, pairs: &[(usize, f64)]| -> Option<String> {
            (!pairs.is_empty()).then(|| {
                format!(
                    "{name} {}",
                    pairs
                        .iter()
                        .map(|(g, x)| format!("{} {x}", t.groups[*g].id))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        };
        let mut parts: Vec<String> = [
            effects("push", &l.push),
            effects("retain", &l.retain),
            effects("anchor", &l.anchor),
        ]
        .into_iter()
        .flatten()
        .collect();
        if l.reach > 0.0 {
            parts.push(format!("reach +{}", l.reach));
        }
        if !parts.is_empty() {
            let _ = writeln!(out, "      effects: {}", parts.join("; "));
        }
        if let Some(d) = &l.description {
            let _ = writeln!(out, "      {d}");
        }
    }
    let _ = writeln!(out, "\nShocks:");
    if t.shocks.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for s in &t.shocks {
        let when = match &s.timing {
            ShockTiming::Periodic { every, first } => {
                format!("every {every} months from {}", month(t, *first))
            }
            ShockTiming::Scheduled { at } => format!(
                "at {}",
                at.iter()
                    .map(|m| month(t, *m))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ShockTiming::Random { rate } => format!(
                "at random, hazard {rate} a month (on average every {:.0} months)",
                1.0 / rate.max(1e-12)
            ),
        };
        let hits: Vec<String> = s
            .hits
            .iter()
            .map(|(g, x)| {
                format!(
                    "{} loses {} of its non-anchored engagement",
                    t.groups[*g].id,
                    pct(*x)
                )
            })
            .collect();
        let pauses: Vec<String> = s
            .pause
            .iter()
            .map(|(l, m)| format!("{} paused {m} months", t.levers[*l].id))
            .collect();
        let _ = writeln!(
            out,
            "  - {} ({}): {when}, hits with probability {}",
            s.label, s.id, s.probability
        );
        if !hits.is_empty() {
            let _ = writeln!(out, "      {}", hits.join("; "));
        }
        if !pauses.is_empty() {
            let _ = writeln!(out, "      {}", pauses.join("; "));
        }
    }
    let sc = t.scale;
    let _ = writeln!(
        out,
        "\nChange of scale: Bass diffusion over a potential of {} people, innovation p0 = {}, imitation q0 = {} (× engagement), starting at {} reached.",
        sc.potential, sc.innovation, sc.imitation, pct(sc.initial)
    );
    let pp = t.perpetuation;
    if pp.collapse > 0.0 {
        let _ = writeln!(
            out,
            "Perpetuation: once in phase `{}`, the transition is abandoned if engagement stays under {} for {} months in a row.",
            t.phases[pp.after_phase].id, pp.collapse, pp.grace
        );
    } else {
        let _ = writeln!(
            out,
            "Perpetuation: no collapse threshold, the transition is never abandoned."
        );
    }
}

/// The model in plain words.
pub fn explain(model: &Model) -> String {
    let mut out = String::new();
    let s = model.settings;
    let _ = writeln!(
        out,
        "{} — {} runs, seed {}, {} Euler substeps a month{}\n",
        model.name,
        s.runs,
        s.seed,
        s.substeps,
        if s.deterministic {
            ", deterministic"
        } else {
            ""
        }
    );
    for t in &model.territories {
        territory(&mut out, t);
        out.push('\n');
    }
    if model.is_network {
        let _ = writeln!(out, "Links between peer territories (symmetric):");
        for l in &model.links {
            let _ = writeln!(
                out,
                "  - {} ↔ {}: exchange x = {} (pull towards the same group of a more engaged peer), spillover s = {} (added to p per unit of the peer's reach)",
                model.territories[l.between.0].id, model.territories[l.between.1].id, l.exchange, l.spillover
            );
        }
        out.push('\n');
    }
    out.push_str(EQUATIONS);
    out
}

const EQUATIONS: &str = "\
Equations (each month: shocks, then levers, then Euler substeps of h = 1/substeps, then indices,
perpetuation and phase; rates are per month):
  push_g = α_g + P_g + Σ_h W_gh E_h + Σ_peers x·max(0, E_peer,g − E_g)
  dE_g   = [push_g (1 − E_g) − f_g (E_g − A_g)] h + σ_g √h ξ_g      f_g = δ_g · max(0, 1 − T_g)
  dA_g   = [K_g (E_g − A_g) − ε_g A_g] h
  dr     = (p + q r)(1 − r) h      p = p0 + R + Σ_peers s·r_peer,  q = q0 · e
  P, T, K, R: sums of active levers' push, retain, anchor and reach, × intensity (ramped),
  × the phase's multipliers, scaled down pro rata when their cost exceeds the budget (a lever
  costs cost × intensity a month while active).
  Indices: engagement e = Σ ω_g E_g / Σ ω_g, stabilisation s = Σ ω_g A_g / Σ ω_g, scale r.
  A shock that hits removes a share of the non-anchored engagement: E ← A + (E − A)(1 − hit).
";
