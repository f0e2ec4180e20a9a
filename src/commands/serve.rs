//! `trajectoire serve`: the workshop page for a scenario, on this machine or the room's
//! network.

use std::net::SocketAddr;
use std::path::Path;

use crate::diag::Error;
use crate::serve::{self, Options};

/// Serves the workshop page of `path` until Ctrl-C; `ready` is told the page's address (and
/// whether it is open to other machines) once it answers.
pub fn serve(
    path: &Path,
    options: &Options,
    ready: impl FnOnce(SocketAddr, bool),
) -> Result<(), Error> {
    if options.threads == 0 || options.threads > super::MAX_THREADS {
        return Err(Error::Usage(format!(
            "--threads {}: give from 1 to {} worker threads",
            options.threads,
            super::MAX_THREADS
        )));
    }
    let exposed = !serve::is_loopback(&options.host);
    serve::run(path, options, |address| ready(address, exposed))
}
