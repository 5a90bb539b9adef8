//! Experiment grids: methods × languages × seeds, run records, tables and plots.
