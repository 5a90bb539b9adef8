//! Entropic optimal transport by Sinkhorn iterations, batched and masked, over any
//! [`Backend`](crate::Backend).

mod params;
mod solve;

pub use params::{EpsScaling, Method, Sinkhorn};
pub use solve::{Potentials, SinkhornOutput, Status, sinkhorn_divergence};
