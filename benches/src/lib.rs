//! Shared helpers of the cross-crate benches (random problem generators).
