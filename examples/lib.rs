//! Shared command-line plumbing of the example programs.

use anyhow::{Result, bail};
use tch::Device;

/// Logs to stderr at the level of `RUST_LOG` (default `info`, without noisy dependencies).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tantivy=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// `cpu`, `cuda` (the first GPU) or `cuda:N`.
pub fn parse_device(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(Device::Cpu),
        "cuda" => Ok(Device::Cuda(0)),
        _ => match name.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(i)) => Ok(Device::Cuda(i)),
            _ => bail!("unknown device `{name}`: expected cpu, cuda or cuda:N"),
        },
    }
    .and_then(|d| {
        if d.is_cuda() && !tch::Cuda::is_available() {
            bail!("device `{name}` asked for, but libtorch sees no CUDA device");
        }
        Ok(d)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_parse() {
        assert_eq!(parse_device("cpu").unwrap(), Device::Cpu);
        assert!(parse_device("gpu").is_err());
        assert!(parse_device("cuda:x").is_err());
    }
}
