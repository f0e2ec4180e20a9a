//! Atomic output folders: a run writes into a staging folder next to the target and moves it
//! into place only when every file is written. A run that fails, is interrupted or is killed
//! leaves the previous outputs whole; the next run cleans what a killed run left behind.
//!
//! Layout, for a target `output/malaunay`:
//! - `output/.malaunay.tmp-<pid>` — the staging folder of the run with process id `pid`;
//! - `output/.malaunay.old-<pid>` — the previous outputs, for the instant between the two
//!   renames that swap the new folder in (restored if a run dies exactly there).

use std::path::{Path, PathBuf};

use crate::diag::Error;

/// A staging folder for one run's outputs.
#[derive(Debug)]
pub struct Staging {
    target: PathBuf,
    staging: PathBuf,
    committed: bool,
}

fn name_of(target: &Path) -> Result<String, Error> {
    target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::io(target, "is not a folder name (it ends in `..` or `/`)"))
}

fn parent_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Whether process `pid` is running (Linux: /proc; elsewhere assume it is).
fn running(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

/// Removes staging folders of dead runs and restores previous outputs a dead run had moved
/// aside. Problems here are not fatal: the run goes on.
fn clean_leftovers(parent: &Path, name: &str, target: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let tmp = format!(".{name}.tmp-");
    let old = format!(".{name}.old-");
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let (kind, pid) = if let Some(pid) = file.strip_prefix(&tmp) {
            ("tmp", pid)
        } else if let Some(pid) = file.strip_prefix(&old) {
            ("old", pid)
        } else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if running(pid) {
            continue;
        }
        if kind == "old" && !target.exists() {
            let _ = std::fs::rename(entry.path(), target);
        } else {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl Staging {
    /// Prepares a staging folder for `target`, creating its parent if needed. Fails (exit 3)
    /// when the folder cannot be written — before any simulation starts.
    pub fn create(target: &Path) -> Result<Staging, Error> {
        let name = name_of(target)?;
        let parent = parent_of(target);
        std::fs::create_dir_all(&parent)
            .map_err(|e| Error::io(target, format!("cannot create the output folder: {e}")))?;
        if target.exists() && !target.is_dir() {
            return Err(Error::io(
                target,
                "exists and is not a folder; choose another --out",
            ));
        }
        clean_leftovers(&parent, &name, target);
        let staging = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir(&staging)
            .map_err(|e| Error::io(target, format!("cannot create the output folder: {e}")))?;
        Ok(Staging {
            target: target.to_path_buf(),
            staging,
            committed: false,
        })
    }

    /// Where to write the files.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// The final folder.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Moves the complete set into place, replacing the previous outputs.
    pub fn commit(mut self) -> Result<PathBuf, Error> {
        let parent = parent_of(&self.target);
        let name = name_of(&self.target)?;
        let old = parent.join(format!(".{name}.old-{}", std::process::id()));
        let had_previous = self.target.exists();
        if had_previous {
            std::fs::rename(&self.target, &old).map_err(|e| {
                Error::io(
                    &self.target,
                    format!("cannot replace the previous outputs: {e}"),
                )
            })?;
        }
        if let Err(e) = std::fs::rename(&self.staging, &self.target) {
            if had_previous {
                let _ = std::fs::rename(&old, &self.target);
            }
            return Err(Error::io(
                &self.target,
                format!("cannot move the new outputs into place: {e}"),
            ));
        }
        self.committed = true;
        if had_previous {
            let _ = std::fs::remove_dir_all(&old);
        }
        Ok(self.target.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}
