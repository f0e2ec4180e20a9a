//! `trajectoire._native`: the Rust side of the Python package. The Python side
//! (`python/trajectoire/`) builds each command's arguments from keyword arguments, calls
//! [`execute`] or [`run`] here, and reads what the command wrote into pandas DataFrames.
//!
//! Every call that simulates runs the library's command on a worker thread while the calling
//! thread, detached from the interpreter (the GIL released), wakes every 50 ms to run Python's
//! signal handlers (Ctrl-C → `KeyboardInterrupt`, the work cancelled through
//! [`Controls::cancel`] and joined) and to report progress to a Python callable. Panics are
//! caught on the worker and raised as `RuntimeError`: none crosses into Python.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use clap::Parser;
use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use trajectoire::commands::common::OutputOptions;
use trajectoire::commands::job::Job;
use trajectoire::commands::run::{RunArgs, RunReport};
use trajectoire::commands::split::Splittable;
use trajectoire::commands::{Cli, Command, Controls, Report, SimulationOptions};
use trajectoire::diag::{Error, Location};

/// How often the waiting thread looks at signals and progress.
const POLL: Duration = Duration::from_millis(50);

/// A library error as the Python exception a Python user expects.
fn to_pyerr(py: Python<'_>, error: Error) -> PyErr {
    let rendered = error.render(false);
    match &error {
        Error::Invalid {
            diagnostics,
            sources,
        } => {
            let problems: Vec<Problem> = diagnostics
                .iter()
                .filter(|d| !matches!(d.location, Location::Note))
                .map(|d| {
                    let mut p = Problem {
                        message: d.message.clone(),
                        help: d.help.clone(),
                        ..Problem::default()
                    };
                    match &d.location {
                        Location::Span(span) => {
                            let (line, column) = sources.line_col(span.file, span.start);
                            p.file = Some(sources.get(span.file).path.display().to_string());
                            p.line = Some(line);
                            p.column = Some(column);
                        }
                        Location::File(path) => p.file = Some(path.display().to_string()),
                        Location::Argument(name) => p.argument = Some(name.clone()),
                        Location::Expression {
                            argument, offset, ..
                        } => {
                            p.argument = Some(argument.clone());
                            p.column = Some(offset + 1);
                        }
                        Location::Note => {}
                    }
                    p
                })
                .collect();
            // A scenario file that does not exist is also a FileNotFoundError.
            let missing = !problems.is_empty()
                && diagnostics.iter().all(|d| {
                    matches!(d.location, Location::File(_) | Location::Note)
                        && (d.message.contains("no such file") || d.message.is_empty())
                });
            let class = if missing {
                "ScenarioFileNotFoundError"
            } else {
                "ScenarioError"
            };
            scenario_error_as(py, class, rendered, problems)
        }
        Error::Usage(message) => scenario_error(
            py,
            rendered,
            vec![Problem {
                message: message.clone(),
                ..Problem::default()
            }],
        ),
        Error::Refused { .. } => PyValueError::new_err(rendered),
        Error::Io { .. } => PyOSError::new_err(rendered),
        Error::Interrupted | Error::Paused { .. } => PyKeyboardInterrupt::new_err("interrupted"),
    }
}

/// One problem of a [`ScenarioError`], as handed to Python.
#[derive(Default)]
struct Problem {
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
    argument: Option<String>,
    message: String,
    help: Option<String>,
}

/// `trajectoire.ScenarioError(message, problems)` (the class is Python's, so that it pickles
/// with its problems).
fn scenario_error(py: Python<'_>, message: String, problems: Vec<Problem>) -> PyErr {
    scenario_error_as(py, "ScenarioError", message, problems)
}

/// The same with the class `class` of `trajectoire._errors`.
fn scenario_error_as(
    py: Python<'_>,
    class: &str,
    message: String,
    problems: Vec<Problem>,
) -> PyErr {
    let made = (|| -> PyResult<PyErr> {
        let list = PyList::empty(py);
        for p in problems {
            let d = PyDict::new(py);
            d.set_item("file", p.file)?;
            d.set_item("line", p.line)?;
            d.set_item("column", p.column)?;
            d.set_item("argument", p.argument)?;
            d.set_item("message", p.message)?;
            d.set_item("help", p.help)?;
            list.append(d)?;
        }
        let class = py.import("trajectoire._errors")?.getattr(class)?;
        Ok(PyErr::from_value(class.call1((message.clone(), list))?))
    })();
    made.unwrap_or_else(|e| e)
}

/// Runs `work` on a worker thread and waits for it detached from the interpreter, every
/// [`POLL`] running Python's signal handlers and `poll` (progress). On an exception from either,
/// the work is cancelled through `cancel`, joined, and the exception returned. A panic of the
/// work is a `RuntimeError`.
fn run_interruptible<T: Send>(
    py: Python<'_>,
    cancel: &AtomicBool,
    mut poll: impl FnMut(Python<'_>) -> PyResult<()>,
    work: impl FnOnce() -> T + Send,
) -> PyResult<T> {
    type Slot<T> = Mutex<Option<std::thread::Result<T>>>;
    let slot: (Slot<T>, Condvar) = (Mutex::new(None), Condvar::new());
    let outcome = std::thread::scope(|s| {
        let handle = s.spawn(|| {
            let out = catch_unwind(AssertUnwindSafe(work));
            *slot.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(out);
            slot.1.notify_all();
        });
        loop {
            let done = py.detach(|| {
                let guard = slot.0.lock().unwrap_or_else(|e| e.into_inner());
                let (mut guard, _) = slot
                    .1
                    .wait_timeout_while(guard, POLL, |r| r.is_none())
                    .unwrap_or_else(|e| e.into_inner());
                guard.take()
            });
            if let Some(out) = done {
                let _ = py.detach(|| handle.join());
                return Ok(out);
            }
            if let Err(e) = py.check_signals().and_then(|()| poll(py)) {
                cancel.store(true, Ordering::SeqCst);
                let _ = py.detach(|| handle.join());
                return Err(e);
            }
        }
    })?;
    outcome.map_err(|panic| {
        PyRuntimeError::new_err(format!(
            "internal error in trajectoire: {}",
            panic_text(&*panic)
        ))
    })
}

/// A panic's message.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown".into())
}

/// Does `work` with [`Controls`] wired to Ctrl-C and to `progress` (a callable taking
/// `(done, total)`, called from the calling thread at most every 50 ms, and once at the end).
fn with_controls<'py, T: Send>(
    py: Python<'py>,
    progress: Option<Bound<'py, PyAny>>,
    work: impl FnOnce(&Controls<'_>) -> Result<T, Error> + Send,
) -> PyResult<T> {
    let cancel = AtomicBool::new(false);
    let done = AtomicU64::new(0);
    let total = AtomicU64::new(0);
    let report = |d: u64, t: u64| {
        done.store(d, Ordering::Relaxed);
        total.store(t, Ordering::Relaxed);
    };
    let mut last = (0, 0);
    let mut tell = || -> PyResult<()> {
        let now = (done.load(Ordering::Relaxed), total.load(Ordering::Relaxed));
        if let Some(cb) = &progress {
            if now != last && now.1 > 0 {
                last = now;
                cb.call1(now)?;
            }
        }
        Ok(())
    };
    let result = run_interruptible(
        py,
        &cancel,
        |_| tell(),
        || {
            let controls = Controls {
                progress: &report,
                cancel: &cancel,
            };
            work(&controls)
        },
    )?;
    let value = result.map_err(|e| to_pyerr(py, e))?;
    tell()?;
    Ok(value)
}

/// Does a command of the program given its arguments (without the program's name), as the
/// program would, and returns `{"text": what it prints, "exit_code": its exit code}`; for
/// `test`, also `"rows"`: the hypotheses tested, as JSON text.
#[pyfunction]
#[pyo3(signature = (argv, progress = None))]
fn execute<'py>(
    py: Python<'py>,
    argv: Vec<String>,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let cli = Cli::try_parse_from(std::iter::once("trajectoire".to_string()).chain(argv)).map_err(
        |e| {
            let message = e.render().to_string();
            scenario_error(
                py,
                message.clone(),
                vec![Problem {
                    message: message.trim_end().to_string(),
                    ..Problem::default()
                }],
            )
        },
    )?;
    let out = PyDict::new(py);
    match cli.command {
        Command::Job(Job::Test(args)) => {
            let report = with_controls(py, progress, |c| Splittable::execute(&args, c))?;
            let rows = serde_json::to_string(&report.rows)
                .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
            out.set_item("text", report.text())?;
            out.set_item("exit_code", report.exit_code())?;
            out.set_item("rows", rows)?;
        }
        Command::Serve(_) | Command::Slurm(_) => {
            return Err(PyValueError::new_err(
                "serve and slurm are not available from Python: use the program",
            ));
        }
        command => {
            let report = with_controls(py, progress, |c| command.execute(c, &|_| {}))?;
            out.set_item("text", report.text())?;
            out.set_item("exit_code", report.exit_code())?;
        }
    }
    Ok(out)
}

/// A finished run, kept to write its files (the plots drawn only when asked).
#[pyclass(module = "trajectoire._native")]
struct Run {
    report: Mutex<RunReport>,
}

#[pymethods]
impl Run {
    /// What `trajectoire run` prints (without the line saying where the outputs are).
    fn text(&self) -> String {
        let report = self.report.lock().unwrap_or_else(|e| e.into_inner());
        trajectoire::output::text::summary(&report.study.model, &report.results)
    }

    /// Writes what `trajectoire run` writes into `folder` (created if needed): the tables,
    /// summary.json and, with `plots`, the plots. Returns the files written.
    #[pyo3(signature = (folder, plots = true))]
    fn write(&self, py: Python<'_>, folder: PathBuf, plots: bool) -> PyResult<Vec<PathBuf>> {
        let written = py.detach(|| {
            catch_unwind(AssertUnwindSafe(|| {
                std::fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, e))?;
                let report = self.report.lock().unwrap_or_else(|e| e.into_inner());
                trajectoire::output::write_all(
                    &folder,
                    &report.study.model,
                    &report.study.hypotheses,
                    &report.results,
                    plots,
                    None,
                )
            }))
        });
        written
            .map_err(|panic| {
                PyRuntimeError::new_err(format!(
                    "internal error in trajectoire: {}",
                    panic_text(&*panic)
                ))
            })?
            .map_err(|e| to_pyerr(py, e))
    }
}

/// `trajectoire run FILE --out OUT --no-plots` with the given options: writes the tables and
/// summary.json into `out` (which must not exist or be empty) and returns the run.
#[pyfunction]
#[pyo3(signature = (file, out, *, runs = None, seed = None, substeps = None, sets = Vec::new(),
    threads = None, deterministic = false, allow_long = false, progress = None))]
#[allow(clippy::too_many_arguments)]
fn run<'py>(
    py: Python<'py>,
    file: PathBuf,
    out: PathBuf,
    runs: Option<u64>,
    seed: Option<u64>,
    substeps: Option<u32>,
    sets: Vec<String>,
    threads: Option<usize>,
    deterministic: bool,
    allow_long: bool,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Run> {
    let args = RunArgs {
        file,
        simulation: SimulationOptions {
            runs,
            seed,
            substeps,
            threads,
            deterministic,
            quiet: true,
            allow_long,
            sets,
        },
        output: OutputOptions {
            out: Some(out),
            no_plots: true,
            shard: None,
        },
    };
    let report = with_controls(py, progress, |c| Splittable::execute(&args, c))?;
    Ok(Run {
        report: Mutex::new(report),
    })
}

/// Whether the `--set` path `path` of the scenario `file` takes whole numbers only (for EMA
/// Workbench's IntegerParameter); a ScenarioError if the path cannot be set.
#[pyfunction]
fn whole_numbers(py: Python<'_>, file: PathBuf, path: &str) -> PyResult<bool> {
    let loaded = trajectoire::scenario::load(&file).map_err(|e| to_pyerr(py, e))?;
    trajectoire::model::set::whole_numbers(&loaded, path, "--vary").map_err(|e| to_pyerr(py, e))
}

/// The cores of this machine (the default thread count).
#[pyfunction]
fn cores() -> usize {
    trajectoire::commands::cores()
}

/// How the module was built.
#[pyfunction]
fn build_info(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("version", env!("CARGO_PKG_VERSION"))?;
    d.set_item("avx2", cfg!(target_feature = "avx2"))?;
    d.set_item("debug_assertions", cfg!(debug_assertions))?;
    d.set_item("cores", trajectoire::commands::cores())?;
    Ok(d)
}

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<Run>()?;
    m.add_function(wrap_pyfunction!(execute, m)?)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(whole_numbers, m)?)?;
    m.add_function(wrap_pyfunction!(cores, m)?)?;
    m.add_function(wrap_pyfunction!(build_info, m)?)?;
    Ok(())
}
