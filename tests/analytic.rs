//! The model's analytic checks (docs/model.md): deterministic runs are explicit Euler solutions of known ODEs.

use crate::common::{model, one_group, simulate, trajectory};

/// Bass closed form F(t) with r0 = 0.
fn bass(p: f64, q: f64, t: f64) -> f64 {
    let decay = (-(p + q) * t).exp();
    (1.0 - decay) / (1.0 + (q / p) * decay)
}

fn bass_error(substeps: u32) -> f64 {
    // E constant at 0.5 (α = W = δ = σ = 0), so q = q0 · e = 0.02. Euler's error grows with
    // p + q and the horizon: with the model's example p0 = 0.0005 it is 1.5e-3 over 240 months
    // (see docs/model.md); with p0 = 0.005 it is 4.4e-4.
    let text = one_group(
        "engagement = 0.5",
        "[scale]\ninnovation = 0.005\nimitation = 0.04",
        240,
        substeps,
    );
    let m = model(&text);
    let states = trajectory(&m, 0);
    states
        .iter()
        .enumerate()
        .map(|(t, s)| {
            assert_eq!(s.engagement[0], 0.5, "engagement must stay constant");
            (s.reach[0] - bass(0.005, 0.02, t as f64)).abs()
        })
        .fold(0.0, f64::max)
}

#[test]
fn bass_reach_matches_the_closed_form_within_1e3() {
    let error = bass_error(4);
    assert!(error < 1e-3, "max error {error}");
    assert!(error > 0.0, "Euler cannot be exact here");
}

#[test]
fn bass_error_halves_when_substeps_double() {
    for (coarse, fine) in [(4, 8), (8, 16)] {
        let ratio = bass_error(coarse) / bass_error(fine);
        assert!(
            (1.6..=2.4).contains(&ratio),
            "{coarse}→{fine}: ratio {ratio}"
        );
    }
}

#[test]
fn exponential_decay_is_exact() {
    let (e0, delta, substeps) = (0.8, 0.05, 4);
    let text = one_group(
        &format!("engagement = {e0}\nfatigue = {delta}"),
        "",
        120,
        substeps,
    );
    let h = 1.0 / f64::from(substeps);
    for (t, s) in trajectory(&model(&text), 0).iter().enumerate() {
        let expected = e0 * (1.0 - delta * h).powi((t as u32 * substeps) as i32);
        assert!(
            (s.engagement[0] - expected).abs() <= 1e-12,
            "t={t}: {} vs {expected}",
            s.engagement[0]
        );
    }
}

#[test]
fn logistic_contagion_follows_the_logistic_curve() {
    let (e0, beta) = (0.05, 0.1);
    let logistic = |t: f64| e0 * (beta * t).exp() / (1.0 - e0 + e0 * (beta * t).exp());
    for (substeps, tolerance) in [(4, 1e-2), (100, 3e-4)] {
        let text = one_group(
            &format!("engagement = {e0}\ninfluenced_by = {{ g = {beta} }}"),
            "",
            120,
            substeps,
        );
        let worst = trajectory(&model(&text), 0)
            .iter()
            .enumerate()
            .map(|(t, s)| (s.engagement[0] - logistic(t as f64)).abs())
            .fold(0.0, f64::max);
        assert!(worst < tolerance, "substeps {substeps}: max error {worst}");
    }
}

#[test]
fn deterministic_ensemble_reports_the_single_run_exactly() {
    let text = r#"
[territory]
id = "t"
population = 1000
horizon = 60
[simulation]
runs = 500
[[actor]]
id = "g"
engagement = 0.3
fatigue = 0.02
adoption = 0.01
"#;
    let m = model(text);
    let run = trajectory(&m, 0);
    let results = simulate(&m, 2);
    assert_eq!(results.runs, 500);
    let series = results.territories[0].series("engagement:g").unwrap();
    for (t, s) in run.iter().enumerate() {
        let e = s.engagement[0];
        assert!((series.mean[t] - e).abs() < 1e-15, "mean at {t}");
        for q in &series.quantiles {
            assert_eq!(q[t], e, "every quantile equals the single value at {t}");
        }
    }
}

#[test]
fn anchored_engagement_is_untouched_by_shocks() {
    // A certain shock removes all non-anchored engagement at month 10: E drops to A exactly.
    let text = one_group(
        "engagement = 0.6\nanchored = 0.2",
        "[[shock]]\nid = \"crash\"\nat = [10]\nhits = { g = 1.0 }",
        12,
        4,
    );
    let m = model(&text);
    let states = trajectory(&m, 0);
    // State after month 10 (index 11) started from E = A = 0.2 at month 10's start.
    let before = &states[10];
    let after = &states[11];
    assert_eq!(before.anchored[0], 0.2);
    // Nothing pushes or tires it afterwards: it stays exactly at the anchored share.
    assert_eq!(after.engagement[0], 0.2);
    assert_eq!(states[12].engagement[0], 0.2);
}
