//! Units and words for values people read: what a `--set` path's number is counted in.

/// The unit of a path's values, for people.
pub fn unit_of(path: &str) -> &'static str {
    let last = path.rsplit('.').next().unwrap_or("");
    let table = path.split('.').rev().nth(1).unwrap_or("");
    match (table, last) {
        (_, "intensity") => "×",
        (_, "budget" | "cost") => "€ a month",
        (_, "probability") => "chance",
        (_, "from" | "until" | "first" | "every" | "ramp" | "grace" | "hold" | "horizon") => {
            "months"
        }
        (_, "engagement" | "anchored" | "collapse" | "initial" | "weight") => "share",
        ("enter" | "fallback", _) => "share",
        ("effect", _) => "×",
        ("hits" | "retain", _) => "share",
        _ => "a month",
    }
}

#[cfg(test)]
mod tests {
    use super::unit_of;

    #[test]
    fn paths_have_the_units_people_read() {
        assert_eq!(unit_of("lever.narrative.intensity"), "×");
        assert_eq!(unit_of("malaunay.territory.budget"), "€ a month");
        assert_eq!(unit_of("shock.municipal-election.probability"), "chance");
        assert_eq!(unit_of("lever.narrative.from"), "months");
        assert_eq!(unit_of("phase.take-off.enter.engagement"), "share");
        assert_eq!(unit_of("actor.elected.fatigue"), "a month");
    }
}
