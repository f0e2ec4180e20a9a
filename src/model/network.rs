//! Validating a network: its territories (each validated as a territory), what they must
//! share (horizon, start year), and its links.

use super::validate::Validator;
use super::{bounds, Link, Model, Territory};
use crate::scenario::NetworkDoc;

impl Validator {
    pub(super) fn network(&mut self, n: &NetworkDoc) -> Option<Model> {
        let id = self.id(&n.id, "network", n.span).unwrap_or_default();
        let name = n
            .name
            .as_ref()
            .map_or_else(|| id.clone(), |x| x.value.clone());
        if n.territory_paths.is_empty() {
            self.err(
                n.span,
                "this network lists no territory",
                "add `territories = [\"a.toml\", \"b.toml\"]`",
            );
        }
        if n.territory_paths.len() > bounds::TERRITORIES {
            self.err(
                n.span,
                format!("at most {} territories in a network", bounds::TERRITORIES),
                "split the network",
            );
        }
        let territories: Vec<Territory> = n
            .territories
            .iter()
            .filter_map(|t| self.territory(t))
            .collect();
        if territories.len() != n.territory_paths.len() {
            return None;
        }
        let ids: Vec<String> = territories.iter().map(|t| t.id.clone()).collect();
        for (i, t) in n.territories.iter().enumerate() {
            if ids[..i].contains(&ids[i]) {
                self.err(
                    n.territory_paths[i].span,
                    format!("territory `{}` is in this network twice", ids[i]),
                    "list each territory once",
                );
            }
            if i > 0 {
                let first = &territories[0];
                let this = &territories[i];
                if this.horizon != first.horizon {
                    let span = t.header.horizon.as_ref().map_or(t.header.span, |h| h.span);
                    self.err(
                        span,
                        format!(
                            "`{}` has horizon {} but `{}` has {}",
                            this.id, this.horizon, first.id, first.horizon
                        ),
                        "every territory of a network must have the same horizon",
                    );
                }
                if this.start_year != first.start_year {
                    let span = t
                        .header
                        .start_year
                        .as_ref()
                        .map_or(t.header.span, |h| h.span);
                    let show =
                        |y: Option<i32>| y.map_or_else(|| "none".to_string(), |y| y.to_string());
                    self.err(
                        span,
                        format!(
                            "`{}` has start_year {} but `{}` has {}",
                            this.id,
                            show(this.start_year),
                            first.id,
                            show(first.start_year)
                        ),
                        "every territory of a network must have the same start_year",
                    );
                }
            }
        }
        let mut links: Vec<Link> = Vec::new();
        for l in &n.links {
            let Some(between) = &l.between else {
                self.err(
                    l.span,
                    "this [[link]] has no `between`",
                    "add `between = [\"town-a\", \"town-b\"]`",
                );
                continue;
            };
            if between.value.len() != 2 {
                self.err(
                    between.span,
                    "`between` must name exactly two territories",
                    "e.g. `between = [\"loos-en-gohelle\", \"malaunay\"]`",
                );
                continue;
            }
            let a = self.resolve(&between.value[0], &ids, "territory");
            let b = self.resolve(&between.value[1], &ids, "territory");
            let (Some(a), Some(b)) = (a, b) else { continue };
            if a == b {
                self.err(
                    between.span,
                    "a territory cannot be linked to itself",
                    "name two different territories",
                );
                continue;
            }
            let pair = (a.min(b), a.max(b));
            if links.iter().any(|x| x.between == pair) {
                self.err(
                    between.span,
                    "these two territories are already linked",
                    "write one [[link]] per pair (links are symmetric)",
                );
                continue;
            }
            links.push(Link {
                between: pair,
                exchange: self.rate(&l.exchange, "exchange"),
                spillover: self.rate(&l.spillover, "spillover"),
            });
        }
        let base = n
            .territories
            .first()
            .map(|t| self.settings(&t.simulation, None));
        let settings = self.settings(&n.simulation, base);
        Some(Model {
            id,
            name,
            is_network: true,
            territories,
            links,
            settings,
            overrides: Vec::new(),
        })
    }
}
