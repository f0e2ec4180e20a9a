//! The one integration-test binary (one link on 2 cores), a module per area.

mod analytic;
mod architecture;
mod browser;
mod calibration;
mod cli;
mod cluster;
mod common;
mod compare;
mod discover;
mod explore;
mod fuzz;
mod hostile;
mod hypotheses;
mod optimize;
mod properties;
mod reference;
mod report;
mod reproducibility;
mod robustness;
mod serve;
mod session;
mod transfer;
mod validation;
