//! A scenario file written back with choices in it: each `--set` override put at its place in
//! the TOML text as the user wrote it (comments, order and layout kept, by `toml_edit`), with a
//! comment saying what it was, and a note at the top listing the choices. The file gives
//! exactly the numbers of the same `--set` overrides (a test checks it).

use toml_edit::{DocumentMut, Item, Table, Value};

use crate::study::design::value_text;

/// One choice: the `--set` path, its value, whether the path takes whole numbers, and the
/// comment written next to it.
#[derive(Debug, Clone)]
pub struct Choice {
    /// The `--set` path, without a network's territory prefix.
    pub path: String,
    /// The value.
    pub value: f64,
    /// Whether the path takes whole numbers.
    pub integer: bool,
    /// The comment next to the value (e.g. `workshop choice`); the value it replaces is added.
    pub note: String,
}

fn number(x: f64, integer: bool) -> Value {
    let text = value_text(x, integer);
    match text.parse::<i64>() {
        Ok(i) if !text.contains('.') => Value::from(i),
        _ => Value::from(x),
    }
}

/// The `[[name]]` table whose `key` is `id` (e.g. the lever with `id = "citergie"`).
fn table_with<'d>(
    doc: &'d mut DocumentMut,
    name: &str,
    key: &str,
    id: &str,
) -> Option<&'d mut Table> {
    doc.get_mut(name)?
        .as_array_of_tables_mut()?
        .iter_mut()
        .find(|t| t.get(key).and_then(Item::as_str) == Some(id))
}

/// The link `[[link]]` between `a` and `b`.
fn link_between<'d>(doc: &'d mut DocumentMut, a: &str, b: &str) -> Option<&'d mut Table> {
    doc.get_mut("link")?
        .as_array_of_tables_mut()?
        .iter_mut()
        .find(|t| {
            let names: Vec<&str> = t
                .get("between")
                .and_then(Item::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            names == [a, b] || names == [b, a]
        })
}

/// Sets `key` of `table` to `x`, with a comment saying what it was; in an inline table
/// `key.entry` (a map such as `push = { inhabitants = 0.01 }`).
fn put(
    table: &mut Table,
    keys: &[&str],
    x: Value,
    note: &str,
    was: Option<String>,
) -> Result<(), String> {
    let note = match was {
        Some(w) => format!(" # {note} (was {w})"),
        None => format!(" # {note}"),
    };
    match keys {
        [key] => {
            let mut v = x;
            v.decor_mut().set_suffix(note);
            table.insert(key, Item::Value(v));
            Ok(())
        }
        [key, entry] => {
            let item = table
                .entry(key)
                .or_insert_with(|| Item::Value(Value::InlineTable(Default::default())));
            let inline = item
                .as_inline_table_mut()
                .ok_or_else(|| format!("`{key}` is not a table of names in the file"))?;
            inline.insert(*entry, x);
            inline.decor_mut().set_suffix(note);
            Ok(())
        }
        _ => Err(format!("cannot write `{}`", keys.join("."))),
    }
}

/// Writes one choice into a territory file's (or a network file's) document.
fn write_choice(doc: &mut DocumentMut, c: &Choice) -> Result<(), String> {
    let segments: Vec<&str> = c.path.split('.').collect();
    let x = number(c.value, c.integer);
    // The value as written, without its comment.
    let was = |t: &Table, key: &str| {
        t.get(key).and_then(Item::as_value).map(|v| {
            let mut bare = v.clone();
            bare.decor_mut().clear();
            bare.to_string().trim().to_string()
        })
    };
    let table_of = |doc: &mut DocumentMut, name: &str| -> Result<(), String> {
        if doc.get(name).is_none() {
            doc.insert(name, Item::Table(Table::new()));
        }
        Ok(())
    };
    match segments.as_slice() {
        [plain @ ("territory" | "simulation" | "scale" | "perpetuation"), key] => {
            table_of(doc, plain)?;
            let t = doc[plain]
                .as_table_mut()
                .ok_or_else(|| format!("[{plain}] is not a table"))?;
            let w = was(t, key);
            put(t, &[key], x, &c.note, w)
        }
        [kind @ ("actor" | "lever" | "shock" | "phase"), id, rest @ ..] => {
            let t = table_with(doc, kind, "id", id)
                .ok_or_else(|| format!("no [[{kind}]] with id `{id}` is written in the file"))?;
            let w = match rest {
                [key] => was(t, key),
                _ => None,
            };
            if let ["at"] = rest {
                let mut a = toml_edit::Array::new();
                a.push(x);
                let mut v = Value::Array(a);
                v.decor_mut().set_suffix(format!(" # {}", c.note));
                t.insert("at", Item::Value(v));
                return Ok(());
            }
            put(t, rest, x, &c.note, w)
        }
        ["link", a, b, key] => {
            let t = link_between(doc, a, b)
                .ok_or_else(|| format!("no [[link]] between `{a}` and `{b}` in the file"))?;
            let w = was(t, key);
            put(t, &[key], x, &c.note, w)
        }
        _ => Err(format!("cannot write `{}` into the file", c.path)),
    }
}

/// `text` (a scenario file) with `choices` written in, and at its top `heading` (comment
/// lines) followed by the list of choices. `include` paths are rewritten by `include` (the
/// file may be saved elsewhere than the original).
pub fn with_choices(
    text: &str,
    choices: &[Choice],
    heading: &str,
    include: &dyn Fn(&str) -> String,
) -> Result<String, String> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e| format!("the file cannot be edited: {e}"))?;
    for c in choices {
        write_choice(&mut doc, c)?;
    }
    widen_sliders(&mut doc, choices);
    if let Some(list) = doc.get_mut("include").and_then(Item::as_array_mut) {
        for v in list.iter_mut() {
            if let Some(path) = v.as_str() {
                let decor = v.decor().clone();
                *v = Value::from(include(path));
                *v.decor_mut() = decor;
            }
        }
    }
    let mut note = String::from(heading);
    for c in choices {
        note.push_str(&format!(
            "#   {} = {}\n",
            c.path,
            value_text(c.value, c.integer)
        ));
    }
    note.push_str("#\n");
    Ok(note + &doc.to_string())
}

/// Widens each `[[slider]]` of a chosen path to hold the chosen value (a value outside a
/// slider's range makes `check` and `serve` refuse the file): a plan searched beyond the
/// workshop's range opens on the page with its slider reaching it.
fn widen_sliders(doc: &mut DocumentMut, choices: &[Choice]) {
    let Some(sliders) = doc.get_mut("slider").and_then(Item::as_array_of_tables_mut) else {
        return;
    };
    for table in sliders.iter_mut() {
        let Some(path) = table.get("path").and_then(Item::as_str).map(str::to_string) else {
            continue;
        };
        let Some(c) = choices.iter().find(|c| c.path == path) else {
            continue;
        };
        for key in ["min", "max"] {
            let Some(item) = table.get_mut(key) else {
                continue;
            };
            let Some(bound) = item
                .as_float()
                .or_else(|| item.as_integer().map(|i| i as f64))
            else {
                continue;
            };
            let outside = if key == "min" {
                c.value < bound
            } else {
                c.value > bound
            };
            if outside {
                let decor = item.as_value().map(|v| v.decor().clone());
                let mut value = if c.integer || c.value.fract() == 0.0 && c.value.abs() < 1e15 {
                    Value::from(c.value as i64)
                } else {
                    Value::from(c.value)
                };
                if let Some(d) = decor {
                    *value.decor_mut() = d;
                }
                *item = Item::Value(value);
            }
        }
    }
}

/// The heading of a file saved from the workshop page.
pub const WORKSHOP: &str =
    "# Choices made on trajectoire's workshop page (trajectoire serve), written into the file:\n";

#[cfg(test)]
mod tests {
    use super::*;

    /// A value beyond a slider's range widens that slider, and only that one, to hold it.
    #[test]
    fn a_slider_is_widened_to_hold_a_choice_beyond_it() {
        let text = "[[lever]]\nid = \"a\"\nintensity = 1.0\n\n[[slider]]\npath = \"lever.a.intensity\"\nmin = 0\nmax = 1.5 # the room's range\n\n[[slider]]\npath = \"territory.budget\"\nmin = 0\nmax = 3000\n";
        let choice = |path: &str, value: f64| Choice {
            path: path.into(),
            value,
            integer: false,
            note: "plan".into(),
        };
        let out = with_choices(
            text,
            &[
                choice("lever.a.intensity", 1.75),
                choice("territory.budget", 2000.0),
            ],
            "",
            &|p| p.to_string(),
        )
        .unwrap();
        let doc: DocumentMut = out.parse().unwrap();
        let sliders = doc["slider"].as_array_of_tables().unwrap();
        let first = sliders.get(0).unwrap();
        assert_eq!(first["min"].as_integer(), Some(0));
        assert_eq!(first["max"].as_float(), Some(1.75));
        assert!(out.contains("max = 1.75 # the room's range"), "{out}");
        let second = sliders.get(1).unwrap();
        assert_eq!(
            second["max"].as_integer(),
            Some(3000),
            "within its range: unchanged"
        );
        let below = with_choices(text, &[choice("lever.a.intensity", -2.0)], "", &|p| {
            p.to_string()
        })
        .unwrap();
        assert!(below.contains("min = -2\n"), "{below}");
    }

    #[test]
    fn choices_go_where_the_file_has_them_with_comments_kept() {
        let text = "# my town\n[territory]\nid = \"t\" # the id\nbudget = 1000\n\n[[lever]]\nid = \"a\"\nintensity = 1.0\npush = { g = 0.01 }\n\n[[lever]]\nid = \"b\"\n";
        let choices = [
            Choice {
                path: "territory.budget".into(),
                value: 2500.0,
                integer: false,
                note: "workshop choice".into(),
            },
            Choice {
                path: "lever.a.intensity".into(),
                value: 0.5,
                integer: false,
                note: "workshop choice".into(),
            },
            Choice {
                path: "lever.b.intensity".into(),
                value: 1.5,
                integer: false,
                note: "workshop choice".into(),
            },
            Choice {
                path: "lever.a.push.h".into(),
                value: 0.02,
                integer: false,
                note: "workshop choice".into(),
            },
            Choice {
                path: "scale.imitation".into(),
                value: 0.05,
                integer: false,
                note: "workshop choice".into(),
            },
        ];
        let out = with_choices(text, &choices, WORKSHOP, &|p| p.to_string()).unwrap();
        assert!(out.contains("# the id"), "{out}");
        assert!(
            out.contains("budget = 2500 # workshop choice (was 1000)"),
            "{out}"
        );
        assert!(
            out.contains("intensity = 0.5 # workshop choice (was 1.0)"),
            "{out}"
        );
        assert!(out.contains("intensity = 1.5 # workshop choice\n"), "{out}");
        assert!(out.contains("h = 0.02"), "{out}");
        assert!(out.contains("[scale]\nimitation = 0.05"), "{out}");
        assert!(out.starts_with("# Choices made"), "{out}");
        let err = with_choices(
            text,
            &[Choice {
                path: "lever.z.intensity".into(),
                value: 1.0,
                integer: false,
                note: "workshop choice".into(),
            }],
            WORKSHOP,
            &|p| p.to_string(),
        )
        .unwrap_err();
        assert!(err.contains("no [[lever]] with id `z`"), "{err}");
    }
}
