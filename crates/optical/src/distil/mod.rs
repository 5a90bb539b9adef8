//! Distillation of a query encoder from bitext: OPTICAL and the baselines.
