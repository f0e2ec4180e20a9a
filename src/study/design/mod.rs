//! Designs: which values of which parameters a sweep or a sensitivity analysis evaluates.
//!
//! A parameter is any `--set` path with a specification (`--vary PATH=SPEC`): `LO..HI:N` (N
//! evenly spaced values, both ends included), `V1,V2,...` (a list) or `LO..HI` (a range, for
//! sampled designs, uniform over it). A design places points: the full factorial of every
//! parameter's values ([`Design::Grid`]), a Latin hypercube ([`Design::Lhs`]) or a scrambled
//! Sobol' sequence ([`Design::Sobol`], see [`sobol`]) over the ranges. Sampled values of a
//! parameter that takes whole numbers (a month, a number of months) are rounded.
//!
//! Random designs draw from their own ChaCha8 stream of the master seed
//! ([`crate::random::design_rng`]), never from a run's: the same seed gives the same design.

mod directions;
pub mod sobol;

use rand::Rng;
use serde::Serialize;

use crate::diag::{Diagnostic, Error, Location};
use crate::random::draw::{below, uniform};

/// What a parameter's values are.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Spec {
    /// These values, in order (`LO..HI:N` or a list).
    Levels {
        /// The values.
        values: Vec<f64>,
    },
    /// Anywhere from `low` to `high`, uniformly (`LO..HI`).
    Range {
        /// Lower end.
        low: f64,
        /// Upper end.
        high: f64,
    },
}

/// A varied parameter: a `--set` path and its values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Parameter {
    /// The `--set` path, e.g. `lever.citergie.intensity`.
    pub path: String,
    /// Its values.
    pub spec: Spec,
    /// Whether the path takes whole numbers (sampled values are rounded).
    pub integer: bool,
}

impl Parameter {
    /// The lowest and highest values.
    pub fn bounds(&self) -> (f64, f64) {
        match &self.spec {
            Spec::Levels { values } => values
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                    (a.min(x), b.max(x))
                }),
            Spec::Range { low, high } => (*low, *high),
        }
    }

    /// The value at `u` ∈ [0, 1) of a sampled design: low + u (high − low), rounded for a
    /// parameter of whole numbers.
    pub fn at(&self, u: f64) -> f64 {
        let (low, high) = self.bounds();
        let x = low + u * (high - low);
        if self.integer {
            x.round().clamp(low, high)
        } else {
            x
        }
    }

    /// The override `PATH=VALUE` that sets this parameter to `x`.
    pub fn set(&self, x: f64) -> String {
        format!("{}={}", self.path, value_text(x, self.integer))
    }
}

/// A number as the `--set` language reads it back exactly: whole numbers without a decimal
/// point (so that a path of whole numbers accepts them), others at full precision.
pub fn value_text(x: f64, integer: bool) -> String {
    if (integer || x.fract() == 0.0) && x.abs() < 9.0e15 {
        format!("{}", x.round() as i64)
    } else {
        format!("{x}")
    }
}

/// A problem in a `--vary` argument, at a character of it.
fn vary_error(text: &str, offset: usize, message: String, help: &str) -> Diagnostic {
    Diagnostic {
        location: Location::Expression {
            argument: "--vary".into(),
            text: text.to_string(),
            offset,
        },
        message,
        help: Some(help.to_string()),
    }
}

/// Parses `PATH=SPEC` (the path is checked later against the scenario).
pub fn parse_vary(text: &str) -> Result<(String, Spec), Diagnostic> {
    const HELP: &str =
        "write PATH=LO..HI:N (N values from LO to HI), PATH=V1,V2,... (a list) or PATH=LO..HI (a range), e.g. lever.citergie.intensity=0..2:5";
    let Some((path, spec)) = text.split_once('=') else {
        return Err(vary_error(
            text,
            text.len(),
            "a --vary is PATH=SPEC".into(),
            HELP,
        ));
    };
    let at = path.len() + 1;
    let path = path.trim().to_string();
    if path.is_empty() {
        return Err(vary_error(text, 0, "the path is missing".into(), HELP));
    }
    let number = |s: &str, offset: usize| -> Result<f64, Diagnostic> {
        let clean: String = s.trim().chars().filter(|c| *c != '_').collect();
        match clean.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => Err(vary_error(
                text,
                offset,
                format!("`{}` is not a number", s.trim()),
                HELP,
            )),
        }
    };
    if let Some((low, rest)) = spec.split_once("..") {
        let low_value = number(low, at)?;
        let high_at = at + low.len() + 2;
        let (high, count) = match rest.split_once(':') {
            Some((h, n)) => (h, Some((n, high_at + h.len() + 1))),
            None => (rest, None),
        };
        let high_value = number(high, high_at)?;
        if high_value <= low_value {
            return Err(vary_error(
                text,
                at,
                format!("the range {low_value}..{high_value} is empty or reversed"),
                "write the lower end first: LO..HI with LO < HI",
            ));
        }
        let Some((n, n_at)) = count else {
            return Ok((
                path,
                Spec::Range {
                    low: low_value,
                    high: high_value,
                },
            ));
        };
        let n = match n.trim().parse::<usize>() {
            Ok(n) if (2..=10_000).contains(&n) => n,
            _ => {
                return Err(vary_error(
                    text,
                    n_at,
                    format!("`{}` is not a number of values from 2 to 10000", n.trim()),
                    "after the colon, how many evenly spaced values: e.g. 0..1:5 for 0, 0.25, 0.5, 0.75, 1",
                ))
            }
        };
        let values = (0..n)
            .map(|i| {
                if i + 1 == n {
                    high_value
                } else {
                    low_value + (high_value - low_value) * i as f64 / (n - 1) as f64
                }
            })
            .collect();
        return Ok((path, Spec::Levels { values }));
    }
    let mut values = Vec::new();
    let mut offset = at;
    for part in spec.split(',') {
        values.push(number(part, offset)?);
        offset += part.len() + 1;
    }
    Ok((path, Spec::Levels { values }))
}

/// How points are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "design", content = "points")]
pub enum Design {
    /// Every combination of the parameters' values.
    Grid,
    /// N points of a Latin hypercube over the ranges.
    Lhs(usize),
    /// N points of a scrambled Sobol' sequence over the ranges.
    Sobol(usize),
}

impl Design {
    /// Parses `grid`, `lhs:N` or `sobol:N`.
    pub fn parse(text: &str) -> Result<Design, Error> {
        let usage = || {
            Error::Usage(format!(
                "--design {text}: write grid, lhs:N or sobol:N (N points, e.g. lhs:200)"
            ))
        };
        match text.split_once(':') {
            None if text == "grid" => Ok(Design::Grid),
            Some((kind, n)) => {
                let n: usize = n.parse().map_err(|_| usage())?;
                if n == 0 || n > 10_000_000 {
                    return Err(usage());
                }
                match kind {
                    "lhs" => Ok(Design::Lhs(n)),
                    "sobol" => Ok(Design::Sobol(n)),
                    _ => Err(usage()),
                }
            }
            None => Err(usage()),
        }
    }

    /// Checks that the parameters suit the design: a grid needs values (`:N` or a list), a
    /// sampled design ranges.
    pub fn check(&self, parameters: &[Parameter]) -> Result<(), Error> {
        let mut diagnostics = Vec::new();
        for p in parameters {
            let problem = match (self, &p.spec) {
                (Design::Grid, Spec::Range { .. }) => Some(format!(
                    "a grid needs values: write `{}=LO..HI:N` or a list",
                    p.path
                )),
                (Design::Lhs(_) | Design::Sobol(_), Spec::Levels { values })
                    if values.len() < 2 =>
                {
                    Some(format!("`{}` needs a range LO..HI", p.path))
                }
                _ => None,
            };
            if let Some(message) = problem {
                diagnostics.push(Diagnostic::argument("--vary", message));
            }
        }
        if diagnostics.is_empty() {
            Ok(())
        } else {
            Err(Error::arguments(diagnostics))
        }
    }

    /// Points of the design, each a value per parameter. Sampled designs use the lowest and
    /// highest values of a parameter given as levels.
    pub fn points(&self, parameters: &[Parameter], rng: &mut impl Rng) -> Vec<Vec<f64>> {
        match *self {
            Design::Grid => {
                let levels: Vec<Vec<f64>> = parameters
                    .iter()
                    .map(|p| match &p.spec {
                        Spec::Levels { values } => values.clone(),
                        Spec::Range { low, high } => vec![*low, *high],
                    })
                    .collect();
                grid(&levels)
            }
            Design::Lhs(n) => latin_hypercube(n, parameters.len(), rng)
                .into_iter()
                .map(|u| parameters.iter().zip(u).map(|(p, u)| p.at(u)).collect())
                .collect(),
            Design::Sobol(n) => sobol::Sobol::scrambled(parameters.len(), rng)
                .points(n)
                .into_iter()
                .map(|u| parameters.iter().zip(u).map(|(p, u)| p.at(u)).collect())
                .collect(),
        }
    }

    /// The number of points.
    pub fn count(&self, parameters: &[Parameter]) -> usize {
        match *self {
            Design::Grid => parameters
                .iter()
                .map(|p| match &p.spec {
                    Spec::Levels { values } => values.len(),
                    Spec::Range { .. } => 2,
                })
                .fold(1usize, |a, b| a.saturating_mul(b)),
            Design::Lhs(n) | Design::Sobol(n) => n,
        }
    }
}

/// Every combination of `levels`, the last parameter varying fastest.
pub fn grid(levels: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut points = vec![Vec::new()];
    for values in levels {
        points = points
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |&x| {
                    let mut q = p.clone();
                    q.push(x);
                    q
                })
            })
            .collect();
    }
    points
}

/// `n` points in [0, 1)^k, one in each of the n strata of every coordinate (McKay, Beckman &
/// Conover 1979): stratum by a random permutation, position within it uniform.
pub fn latin_hypercube(n: usize, k: usize, rng: &mut impl Rng) -> Vec<Vec<f64>> {
    let mut points = vec![vec![0.0; k]; n];
    for d in 0..k {
        let mut strata: Vec<usize> = (0..n).collect();
        // Fisher–Yates, with an unbiased draw below i + 1.
        for i in (1..n).rev() {
            let j = below(rng, i as u64 + 1) as usize;
            strata.swap(i, j);
        }
        for (p, s) in points.iter_mut().zip(strata) {
            p[d] = (s as f64 + uniform(rng)) / n as f64;
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn specs_parse_into_values_and_ranges() {
        let (p, s) = parse_vary("lever.a.intensity=0..1:5").unwrap();
        assert_eq!(p, "lever.a.intensity");
        assert_eq!(
            s,
            Spec::Levels {
                values: vec![0.0, 0.25, 0.5, 0.75, 1.0]
            }
        );
        assert_eq!(
            parse_vary("x=0.1,0.3,2").unwrap().1,
            Spec::Levels {
                values: vec![0.1, 0.3, 2.0]
            }
        );
        assert_eq!(
            parse_vary("x=2..3").unwrap().1,
            Spec::Range {
                low: 2.0,
                high: 3.0
            }
        );
        for (bad, column, words) in [
            ("x=3..2", 2, "reversed"),
            ("x=1..1:3", 2, "empty"),
            ("x=0..1:1", 7, "number of values"),
            ("x=0..a", 5, "not a number"),
            ("x", 1, "PATH=SPEC"),
            ("x=0.1,zz", 6, "not a number"),
        ] {
            let d = parse_vary(bad).unwrap_err();
            let Location::Expression { offset, .. } = d.location else {
                panic!("{bad}");
            };
            assert_eq!(offset, column, "{bad}");
            assert!(d.message.contains(words), "{bad}: {}", d.message);
        }
    }

    #[test]
    fn latin_hypercube_puts_one_point_in_each_stratum() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let points = latin_hypercube(50, 4, &mut rng);
        for d in 0..4 {
            let mut strata: Vec<usize> = points.iter().map(|p| (p[d] * 50.0) as usize).collect();
            strata.sort_unstable();
            assert_eq!(strata, (0..50).collect::<Vec<_>>());
        }
    }

    #[test]
    fn grids_are_full_factorials_last_fastest() {
        let g = grid(&[vec![1.0, 2.0], vec![10.0, 20.0, 30.0]]);
        assert_eq!(g.len(), 6);
        assert_eq!(g[0], vec![1.0, 10.0]);
        assert_eq!(g[1], vec![1.0, 20.0]);
        assert_eq!(g[5], vec![2.0, 30.0]);
    }

    #[test]
    fn values_are_written_back_exactly() {
        for x in [0.1, 1.0 / 3.0, 12.0, 2.5e-9, 1e20] {
            let back: f64 = value_text(x, false).parse().unwrap();
            assert_eq!(back, x);
        }
        assert_eq!(value_text(12.0, true), "12");
        assert_eq!(value_text(0.5, false), "0.5");
    }
}
