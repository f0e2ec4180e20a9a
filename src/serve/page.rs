//! The page's files, embedded in the binary (no CDN, nothing fetched from the network), and
//! the scenario file written back with the page's choices.

use crate::output::toml::{with_choices, Choice, WORKSHOP};
use crate::scenario::Scenario;
use crate::study::workshop::Workshop;

/// The page.
pub const INDEX: &str = include_str!("page/index.html");
/// Its script.
pub const SCRIPT: &str = include_str!("page/app.js");
/// The facilitator's page of a session with peer groups.
pub const FACILITATOR: &str = include_str!("page/facilitator.html");
/// Its script.
pub const FACILITATOR_SCRIPT: &str = include_str!("page/facilitator.js");
/// Their style, screen and print.
pub const STYLE: &str = include_str!("page/style.css");

/// The scenario file `file` (a territory's or the network's id; default: the one the choices
/// are in) with `choices` written in: its file name and its text.
pub fn export(
    workshop: &Workshop,
    choices: &[(String, f64)],
    file: Option<&str>,
) -> Result<(String, String), String> {
    let loaded = workshop.loaded();
    // (id, source index) of every file that can take choices.
    let files: Vec<(String, usize)> = match &loaded.scenario {
        Scenario::Territory(t) => vec![(workshop.study.model.id.clone(), t.file)],
        Scenario::Network(n) => std::iter::once((workshop.study.model.id.clone(), 0))
            .chain(
                n.territories
                    .iter()
                    .filter_map(|t| t.header.id.as_ref().map(|id| (id.value.clone(), t.file))),
            )
            .collect(),
        Scenario::Library(_) => return Err("a lever library has no choices".into()),
    };
    let network = workshop.study.model.is_network;
    // Each choice's file and its path within it.
    let mut placed: Vec<(usize, Choice)> = Vec::new();
    for (path, value) in choices {
        let integer = crate::model::set::whole_numbers(loaded, path, "--set").unwrap_or(false);
        let (k, local) = if !network {
            (0, path.clone())
        } else {
            match path.split_once('.') {
                Some((first, rest)) if first != "link" && first != "simulation" => {
                    let k = files
                        .iter()
                        .position(|(id, _)| id == first)
                        .ok_or_else(|| format!("`{first}` is not a town of this network"))?;
                    (k, rest.to_string())
                }
                _ => (0, path.clone()),
            }
        };
        placed.push((
            k,
            Choice {
                path: local,
                value: *value,
                integer,
                note: "workshop choice".into(),
            },
        ));
    }
    let wanted = match file {
        Some(id) => files.iter().position(|(f, _)| f == id).ok_or_else(|| {
            let ids: Vec<&str> = files.iter().map(|(f, _)| f.as_str()).collect();
            format!("file={id}: no such file; one of: {}", ids.join(", "))
        })?,
        None => {
            let mut used: Vec<usize> = placed.iter().map(|(k, _)| *k).collect();
            used.sort_unstable();
            used.dedup();
            match used.as_slice() {
                [] => 0,
                [one] => *one,
                _ => {
                    let ids: Vec<&str> = used.iter().map(|&k| files[k].0.as_str()).collect();
                    return Err(format!(
                        "the choices are in {} files: ask for each with file=ID ({})",
                        used.len(),
                        ids.join(", ")
                    ));
                }
            }
        }
    };
    let source = loaded.sources.get(files[wanted].1);
    let mine: Vec<Choice> = placed
        .into_iter()
        .filter(|(k, _)| *k == wanted)
        .map(|(_, c)| c)
        .collect();
    let text = with_choices(&source.text, &mine, WORKSHOP, &|p| p.to_string())?;
    let name = source.path.file_name().map_or_else(
        || "scenario.toml".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok((name, text))
}
