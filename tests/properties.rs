//! Property test: random valid scenarios keep every index in [0, 1], A ≤ E, and no NaN.

use proptest::prelude::*;

use crate::common::{model, trajectory};

#[derive(Debug, Clone)]
struct Group {
    e0: f64,
    anchored_share: f64,
    rates: [f64; 4],
    volatility: f64,
    influence: Vec<f64>,
}

fn group(n: usize) -> impl Strategy<Value = Group> {
    let rate = prop_oneof![4 => 0.0..0.2f64, 1 => Just(10.0), 1 => Just(0.0)];
    (
        0.0..=1.0f64,
        0.0..=1.0f64,
        [rate.clone(), rate.clone(), rate.clone(), rate.clone()],
        prop_oneof![3 => 0.0..0.3f64, 1 => Just(10.0)],
        proptest::collection::vec(prop_oneof![0.0..0.2f64, Just(10.0)], n),
    )
        .prop_map(|(e0, anchored_share, rates, volatility, influence)| Group {
            e0,
            anchored_share,
            rates,
            volatility,
            influence,
        })
}

fn scenario() -> impl Strategy<Value = String> {
    (1usize..=4).prop_flat_map(|n| {
        (
            proptest::collection::vec(group(n), n),
            1u32..=48,
            1u32..=6,
            proptest::collection::vec((0u32..30, 0.0..2.0f64, 0u32..12, 0.0..1.0f64, 0.0..0.5f64), 0..3),
            proptest::collection::vec((1u32..24, 0.0..=1.0f64, 0.0..=1.0f64), 0..3),
            (0.0..0.05f64, 0.0..1.0f64, 0.0..=1.0f64),
            proptest::option::of(0.0..5000.0f64),
        )
            .prop_map(move |(groups, horizon, substeps, levers, shocks, scale, budget)| {
                let mut t = format!(
                    "[territory]\nid = \"p\"\npopulation = 100\nhorizon = {horizon}\n{}\n[simulation]\nruns = 3\nsubsteps = {substeps}\n[scale]\ninnovation = {}\nimitation = {}\ninitial = {}\n[perpetuation]\ncollapse = 0.3\ngrace = 2\n",
                    budget.map_or(String::new(), |b| format!("budget = {b}")),
                    scale.0, scale.1, scale.2
                );
                for (i, g) in groups.iter().enumerate() {
                    let infl: Vec<String> = g.influence.iter().enumerate().map(|(h, w)| format!("g{h} = {w}")).collect();
                    t.push_str(&format!(
                        "[[actor]]\nid = \"g{i}\"\nengagement = {}\nanchored = {}\nadoption = {}\nfatigue = {}\nerosion = {}\nweight = {}\nvolatility = {}\ninfluenced_by = {{ {} }}\n",
                        g.e0, g.e0 * g.anchored_share, g.rates[0], g.rates[1], g.rates[2], 0.5 + g.rates[3], g.volatility, infl.join(", ")
                    ));
                }
                t.push_str("[[phase]]\nid = \"a\"\n[[phase]]\nid = \"b\"\nenter = { engagement = 0.2 }\nhold = 2\nfallback = { scale = 0.1 }\neffect = { push = 3 }\n[[phase]]\nid = \"c\"\nenter = { stabilisation = 0.1 }\n");
                for (l, (from, intensity, ramp, retain, rate)) in levers.iter().enumerate() {
                    t.push_str(&format!(
                        "[[lever]]\nid = \"l{l}\"\nfrom = {from}\nintensity = {intensity}\nramp = {ramp}\ncost = 1000\nafter_phase = \"b\"\npush = {{ g0 = {rate} }}\nretain = {{ g0 = {retain} }}\nanchor = {{ g0 = {rate} }}\nreach = {rate}\n"
                    ));
                }
                for (s, (every, p, hit)) in shocks.iter().enumerate() {
                    t.push_str(&format!("[[shock]]\nid = \"s{s}\"\nevery = {every}\nprobability = {p}\nhits = {{ g0 = {hit} }}\n"));
                    if !levers.is_empty() {
                        t.push_str("pause = { l0 = 3 }\n");
                    }
                }
                t
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_valid_scenarios_stay_in_bounds(text in scenario(), run in 0u64..1000) {
        let m = model(&text);
        for (t, s) in trajectory(&m, run).iter().enumerate() {
            for (e, a) in s.engagement.iter().zip(&s.anchored) {
                prop_assert!(e.is_finite() && a.is_finite(), "NaN at {t}");
                prop_assert!((0.0..=1.0).contains(a) && (0.0..=1.0).contains(e), "out of [0,1] at {t}: E={e} A={a}");
                prop_assert!(a <= e, "A > E at {t}: {a} > {e}");
            }
            for x in s.engagement_index.iter().chain(&s.stabilisation_index).chain(&s.reach) {
                prop_assert!(x.is_finite() && (0.0..=1.0).contains(x), "index {x} at {t}");
            }
            prop_assert!(s.spend.iter().all(|x| x.is_finite() && *x >= 0.0));
        }
    }
}
