//! Plots of a sweep.
