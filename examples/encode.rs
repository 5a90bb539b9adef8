//! Sentence embeddings of a text file with any BERT / XLM-R model folder.
//!
//! ```sh
//! cargo run --release --example encode -- --model models/multilingual-e5-small \
//!     --input texts.txt --out emb.npy --normalize --prefix "query: "
//! ```
//!
//! One text per line in, a float32 `[n, d]` `.npy` out. A bad model folder or input exits with
//! code 2 and one line on stderr.
use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, ValueEnum};
use clir_encoders::{Encoder, Pooling, tch::Device};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Clone, Copy, ValueEnum)]
enum PoolingArg {
    Mean,
    Cls,
    Max,
}

#[derive(Clone, Copy, ValueEnum)]
enum DeviceArg {
    Cpu,
    Cuda,
}

/// Embed one text per line of INPUT with the model in MODEL into a float32 [n, d] .npy file.
#[derive(Parser)]
struct Args {
    /// Hugging Face model folder (config.json, model.safetensors, tokenizer.json).
    #[arg(long)]
    model: PathBuf,
    /// Text file, one text per line.
    #[arg(long)]
    input: PathBuf,
    /// Output .npy file.
    #[arg(long)]
    out: PathBuf,
    /// Sentence pooling.
    #[arg(long, value_enum, default_value = "mean")]
    pooling: PoolingArg,
    /// L2-normalise the vectors.
    #[arg(long)]
    normalize: bool,
    /// Longest input in tokens, specials included (default: the model's limit, at most 512).
    #[arg(long)]
    max_len: Option<usize>,
    /// Text prepended to every line (e5: "query: " or "passage: ").
    #[arg(long, default_value = "")]
    prefix: String,
    /// Texts per forward pass.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Device.
    #[arg(long, value_enum, default_value = "cpu")]
    device: DeviceArg,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let device = match args.device {
        DeviceArg::Cpu => Device::Cpu,
        DeviceArg::Cuda if tch::Cuda::is_available() => Device::Cuda(0),
        DeviceArg::Cuda => return fail("--device cuda: no CUDA device is visible to libtorch"),
    };
    let text = match std::fs::read_to_string(&args.input) {
        Ok(t) => t,
        Err(e) => return fail(&format!("cannot read input {}: {e}", args.input.display())),
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut encoder = match Encoder::load(&args.model, device) {
        Ok(e) => e,
        Err(e) => return fail(&format!("cannot load model {}: {e}", args.model.display())),
    };
    encoder = encoder
        .pooling(match args.pooling {
            PoolingArg::Mean => Pooling::Mean,
            PoolingArg::Cls => Pooling::Cls,
            PoolingArg::Max => Pooling::Max,
        })
        .normalize(args.normalize)
        .prefix(args.prefix);
    if let Some(n) = args.max_len {
        encoder = encoder.max_len(n);
    }
    let bar = ProgressBar::new(lines.len() as u64);
    if lines.len() < 1000 {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} texts ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let result = encoder
        .embed(&lines, args.batch_size, |done| {
            bar.set_position(done as u64)
        })
        .and_then(|t| {
            let (n, d) = t.size2()?;
            let flat = Vec::<f32>::try_from(t.f_flatten(0, -1)?)?;
            Ok(
                ndarray::Array2::from_shape_vec((n as usize, d as usize), flat)
                    .expect("an [n, d] tensor has n * d values"),
            )
        });
    bar.finish_and_clear();
    let array = match result {
        Ok(a) => a,
        Err(e) => return fail(&format!("encoding failed: {e}")),
    };
    if let Err(e) = ndarray_npy::write_npy(&args.out, &array) {
        return fail(&format!("cannot write {}: {e}", args.out.display()));
    }
    eprintln!(
        "encode: {} texts -> {} [{}, {}]",
        lines.len(),
        args.out.display(),
        array.nrows(),
        array.ncols()
    );
    ExitCode::SUCCESS
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("encode: {msg}");
    ExitCode::from(2)
}
