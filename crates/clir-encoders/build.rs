//! Records the libtorch library folder as a run-time search path (RUNPATH) of this package's
//! test, example and bench binaries, so that they run with no `LD_LIBRARY_PATH`. `LIBTORCH`
//! comes from `.cargo/config.toml` (the project's `.venv/libtorch`) unless the environment sets
//! it. RUNPATH rather than RPATH, so that `LD_LIBRARY_PATH` pointing at another torch 2.11 (a full
//! CUDA stack on a GPU machine) still takes precedence at run time.
use std::{env, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let Some(libtorch) = env::var_os("LIBTORCH") else {
        return;
    };
    let lib = PathBuf::from(libtorch).join("lib");
    println!(
        "cargo:rustc-link-arg=-Wl,--enable-new-dtags,-rpath,{}",
        lib.display()
    );
    // Nothing references a symbol of libtorch_cuda, so `--as-needed` would drop it; its static
    // initialisers register the CUDA backend, without which tch sees no GPU.
    if lib.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
}
