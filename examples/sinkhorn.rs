//! Entropic OT from .npy files:
//! `sinkhorn --cost C.npy --a a.npy --b b.npy --eps E [--max-iter N] [--tol T] [--f32]
//!  [--method log|kernel] [--backend ndarray|tch] [--device cpu|cuda] --plan-out P.npy`
//!
//! Reads float64 (float32 with `--f32`) arrays: a cost `[m, n]` with `a: [m]`, `b: [n]`, or a
//! batch `[B, m, n]` with `a: [B, m]`, `b: [B, n]` (zero weights mask padding). Writes the plan
//! as .npy (same dtype and rank as the cost) and prints one JSON object on stdout with `status`,
//! `iterations`, `transport_cost`, `objective`, `marginal_error` (scalars for one problem,
//! arrays for a batch) and `seconds`. Bad files, shapes or parameters: exit code 2 and one line
//! on stderr naming the file and what is wrong.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use ndarray::{Array2, Array3, ArrayD, Ix2, Ix3};
use ndarray_npy::{ReadableElement, WritableElement, read_npy, write_npy};
use ot_core::tch::{Device, Kind};
use ot_core::{Float, Method, NdArray, Sinkhorn, Status, Tch};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum MethodArg {
    Log,
    Kernel,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum BackendArg {
    Ndarray,
    Tch,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum DeviceArg {
    Cpu,
    Cuda,
}

/// Entropic optimal transport (Sinkhorn) between .npy marginals.
#[derive(Parser, Debug)]
#[command(name = "sinkhorn")]
struct Args {
    /// Cost matrix `[m, n]` or batch `[B, m, n]`.
    #[arg(long)]
    cost: PathBuf,
    /// Source marginal `[m]` or `[B, m]`.
    #[arg(long)]
    a: PathBuf,
    /// Target marginal `[n]` or `[B, n]`.
    #[arg(long)]
    b: PathBuf,
    /// Entropic regularisation (POT's `reg`).
    #[arg(long)]
    eps: f64,
    /// Maximal number of iterations.
    #[arg(long, default_value_t = 1000)]
    max_iter: usize,
    /// Tolerance on the marginal violation.
    #[arg(long, default_value_t = 1e-6)]
    tol: f64,
    /// Read float32 files and compute in f32.
    #[arg(long = "f32")]
    single: bool,
    /// Iteration.
    #[arg(long, value_enum, default_value_t = MethodArg::Log)]
    method: MethodArg,
    /// Backend.
    #[arg(long, value_enum, default_value_t = BackendArg::Ndarray)]
    backend: BackendArg,
    /// Device of the tch backend.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    device: DeviceArg,
    /// Where to write the plan.
    #[arg(long)]
    plan_out: PathBuf,
}

/// A bad-input failure: one line, exit code 2.
struct Bad(String);

fn bad(path: &Path, what: impl std::fmt::Display) -> Bad {
    Bad(format!("{}: {what}", path.display()))
}

fn read<F: ReadableElement>(path: &Path) -> Result<ArrayD<F>, Bad> {
    read_npy::<_, ArrayD<F>>(path).map_err(|e| bad(path, e))
}

/// A batch of problems (cost, a, b) and whether the input was a single problem.
type Problems<F> = (Array3<F>, Array2<F>, Array2<F>, bool);

/// Loads cost/a/b as a batch; returns whether the input was a single problem.
fn load<F: ReadableElement + Clone>(args: &Args) -> Result<Problems<F>, Bad> {
    let cost = read::<F>(&args.cost)?;
    let (a, b) = (read::<F>(&args.a)?, read::<F>(&args.b)?);
    let single = cost.ndim() == 2;
    let lift = |x: ArrayD<F>, path: &Path, rank: usize| -> Result<ArrayD<F>, Bad> {
        if x.ndim() != rank {
            return Err(bad(
                path,
                format!("expected {rank} dimensions, found shape {:?}", x.shape()),
            ));
        }
        Ok(if single {
            x.insert_axis(ndarray::Axis(0))
        } else {
            x
        })
    };
    if !(2..=3).contains(&cost.ndim()) {
        return Err(bad(
            &args.cost,
            format!("expected [m, n] or [B, m, n], found {:?}", cost.shape()),
        ));
    }
    let r = if single { 1 } else { 2 };
    let cost = lift(cost, &args.cost, r + 1)?
        .into_dimensionality::<Ix3>()
        .map_err(|e| bad(&args.cost, e))?;
    let a = lift(a, &args.a, r)?
        .into_dimensionality::<Ix2>()
        .map_err(|e| bad(&args.a, e))?;
    let b = lift(b, &args.b, r)?
        .into_dimensionality::<Ix2>()
        .map_err(|e| bad(&args.b, e))?;
    Ok((cost, a, b, single))
}

/// Maps a solver error to the file it is about.
fn blame(args: &Args, e: ot_core::Error) -> Bad {
    use ot_core::Error as E;
    let path = match &e {
        E::NonFinite { argument: "a", .. }
        | E::Negative { argument: "a", .. }
        | E::EmptyMarginal { argument: "a", .. } => &args.a,
        E::NonFinite { argument: "b", .. }
        | E::Negative { argument: "b", .. }
        | E::EmptyMarginal { argument: "b", .. }
        | E::MassMismatch { .. } => &args.b,
        E::InvalidParameter { .. } => return Bad(format!("parameters: {e}")),
        _ => &args.cost,
    };
    bad(path, e)
}

struct Report {
    status: Vec<Status>,
    iterations: Vec<usize>,
    transport_cost: Vec<f64>,
    objective: Vec<f64>,
    marginal_error: Vec<f64>,
    /// The input was one `[m, n]` problem (report scalars, not arrays).
    single: bool,
}

fn solver(args: &Args) -> Sinkhorn {
    let method = match args.method {
        MethodArg::Log => Method::Log,
        MethodArg::Kernel => Method::Kernel,
    };
    Sinkhorn::new(args.eps)
        .max_iter(args.max_iter)
        .tol(args.tol)
        .method(method)
}

fn run_ndarray<F: Float + ReadableElement + WritableElement>(
    args: &Args,
) -> Result<(Report, f64), Bad> {
    let (cost, a, b, single) = load::<F>(args)?;
    let start = Instant::now();
    let out = solver(args)
        .solve(&NdArray::<F>::new(), &cost, &a, &b)
        .map_err(|e| blame(args, e))?;
    let seconds = start.elapsed().as_secs_f64();
    let written = if single {
        write_npy(&args.plan_out, &out.plan.index_axis(ndarray::Axis(0), 0))
    } else {
        write_npy(&args.plan_out, &out.plan)
    };
    written.map_err(|e| bad(&args.plan_out, e))?;
    Ok((
        Report {
            status: out.status,
            iterations: out.iterations,
            transport_cost: out.transport_cost,
            objective: out.objective,
            marginal_error: out.marginal_error,
            single,
        },
        seconds,
    ))
}

fn run_tch(args: &Args) -> Result<(Report, f64), Bad> {
    let (cost, a, b, single) = if args.single {
        let (c, a, b, s) = load::<f32>(args)?;
        (c.mapv(f64::from), a.mapv(f64::from), b.mapv(f64::from), s)
    } else {
        load::<f64>(args)?
    };
    let device = match args.device {
        DeviceArg::Cpu => Device::Cpu,
        DeviceArg::Cuda if tch::Cuda::is_available() => Device::Cuda(0),
        DeviceArg::Cuda => return Err(Bad("--device cuda: no CUDA device available".into())),
    };
    let kind = if args.single {
        Kind::Float
    } else {
        Kind::Double
    };
    let be = Tch::new(device, kind);
    let up = |x: Result<tch::Tensor, ot_core::Error>| x.map_err(|e| blame(args, e));
    let (c, av, bv) = (
        up(be.tensor(&cost))?,
        up(be.tensor(&a))?,
        up(be.tensor(&b))?,
    );
    let start = Instant::now();
    let out = tch::no_grad(|| solver(args).solve(&be, &c, &av, &bv)).map_err(|e| blame(args, e))?;
    let seconds = start.elapsed().as_secs_f64();
    let plan = ot_core::tch_ot::to_host(&out.plan).map_err(|e| blame(args, e))?;
    let plan = Array3::from_shape_vec(cost.raw_dim(), plan).map_err(|e| bad(&args.plan_out, e))?;
    let written = match (args.single, single) {
        (true, true) => write_npy(
            &args.plan_out,
            &plan.index_axis(ndarray::Axis(0), 0).mapv(|x| x as f32),
        ),
        (true, false) => write_npy(&args.plan_out, &plan.mapv(|x| x as f32)),
        (false, true) => write_npy(&args.plan_out, &plan.index_axis(ndarray::Axis(0), 0)),
        (false, false) => write_npy(&args.plan_out, &plan),
    };
    written.map_err(|e| bad(&args.plan_out, e))?;
    Ok((
        Report {
            status: out.status,
            iterations: out.iterations,
            transport_cost: out.transport_cost,
            objective: out.objective,
            marginal_error: out.marginal_error,
            single,
        },
        seconds,
    ))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match (args.backend, args.single) {
        (BackendArg::Ndarray, true) => run_ndarray::<f32>(&args),
        (BackendArg::Ndarray, false) => run_ndarray::<f64>(&args),
        (BackendArg::Tch, _) => run_tch(&args),
    };
    let (report, seconds) = match result {
        Ok(r) => r,
        Err(Bad(line)) => {
            eprintln!("{line}");
            return ExitCode::from(2);
        }
    };
    let single = report.single;
    let pick = |v: Vec<Value>| {
        if single {
            v[0].clone()
        } else {
            Value::Array(v)
        }
    };
    let f = |v: &[f64]| pick(v.iter().map(|&x| json!(x)).collect());
    let obj = json!({
        "status": pick(report.status.iter().map(|s| json!(s.as_str())).collect()),
        "iterations": pick(report.iterations.iter().map(|&i| json!(i)).collect()),
        "transport_cost": f(&report.transport_cost),
        "objective": f(&report.objective),
        "marginal_error": f(&report.marginal_error),
        "seconds": seconds,
    });
    println!("{obj}");
    ExitCode::SUCCESS
}
