//! Plots of a sensitivity analysis.
