//! Checkpoints of a distillation run: the trained parameters only (frozen ones are the initial
//! student's), the optimiser moments and step counters, and the run's position and loss history.
//! A checkpoint is a folder written next to its final place and renamed into it, so a run killed
//! at any moment leaves either the previous or the new checkpoint, never a torn one.

use std::path::{Path, PathBuf};

use clir_encoders::tch::{self, Device, Tensor};
use clir_encoders::{Encoder, Trainer};
use serde::{Deserialize, Serialize};

use super::adversarial::Discriminator;

use crate::{Error, Result};

const WEIGHTS: &str = "weights.safetensors";
const OPTIMIZER: &str = "optimizer.safetensors";
const STATE: &str = "state.json";

/// Where a run stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Fingerprint of the configuration that wrote it.
    pub fingerprint: String,
    /// Optimiser steps done (the data cursor: step `k` trains batch `k % steps_per_epoch` of
    /// epoch `k / steps_per_epoch`).
    pub step: usize,
    /// Loss of every step so far (stored as IEEE-754 bit patterns: JSON decimal floats do
    /// not always round-trip to the same bits, and a resumed run must report identical losses).
    #[serde(with = "f64_bits")]
    pub losses: Vec<f64>,
    /// Per step, `L(E + δ) − L(E)` of the embedding adversary (empty when it is off).
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "f64_bits")]
    pub perturbation_gains: Vec<f64>,
    /// Per step, the language discriminator's loss (empty when it is off).
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "f64_bits")]
    pub discriminator_losses: Vec<f64>,
    /// Per step, the language discriminator's balanced accuracy (empty when it is off).
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "f64_bits")]
    pub discriminator_accuracies: Vec<f64>,
}

mod f64_bits {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|x| x.to_bits()))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Ok(Vec::<u64>::deserialize(d)?
            .into_iter()
            .map(f64::from_bits)
            .collect())
    }
}

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Write {
        path: path.into(),
        source,
    }
}

fn old_path(dir: &Path) -> PathBuf {
    let mut name = dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".old");
    dir.with_file_name(name)
}

/// Writes a checkpoint into `dir` atomically (replacing any previous one), with the language
/// discriminator's parameters and optimiser state when there is one.
pub(crate) fn save(
    dir: &Path,
    student: &Encoder,
    trainer: &Trainer,
    discriminator: Option<&Discriminator>,
    state: &CheckpointState,
) -> Result<()> {
    let parent = dir
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    std::fs::create_dir_all(&parent).map_err(write_err(&parent))?;
    let tmp = tempfile::Builder::new()
        .prefix(".checkpoint-")
        .tempdir_in(&parent)
        .map_err(write_err(&parent))?;
    let mut vars: Vec<(String, Tensor)> = student
        .var_store()
        .variables()
        .into_iter()
        .filter(|(_, t)| t.requires_grad())
        .collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let mut cpu = Vec::with_capacity(vars.len());
    for (name, t) in vars {
        cpu.push((name, t.f_detach()?.f_to(Device::Cpu)?.f_contiguous()?));
    }
    Tensor::write_safetensors(&cpu, tmp.path().join(WEIGHTS))?;
    trainer.save_state(tmp.path().join(OPTIMIZER))?;
    if let Some(d) = discriminator {
        d.save(tmp.path())?;
    }
    let json = serde_json::to_string(state).map_err(|e| Error::Write {
        path: dir.join(STATE),
        source: std::io::Error::other(e),
    })?;
    std::fs::write(tmp.path().join(STATE), json).map_err(write_err(dir))?;
    // Swap: dir -> dir.old, tmp -> dir, drop dir.old. `load` falls back to dir.old if a kill
    // lands between the two renames.
    let old = old_path(dir);
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(write_err(&old))?;
    }
    if dir.exists() {
        std::fs::rename(dir, &old).map_err(write_err(dir))?;
    }
    let kept = tmp.keep();
    std::fs::rename(&kept, dir).map_err(write_err(dir))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(write_err(&old))?;
    }
    Ok(())
}

/// The checkpoint folder to resume from, if any (`dir`, or `dir.old` after a kill mid-swap).
pub(crate) fn find(dir: &Path) -> Option<PathBuf> {
    [dir.to_path_buf(), old_path(dir)]
        .into_iter()
        .find(|d| d.join(STATE).is_file())
}

/// Removes the checkpoint (after a successful run, or before a fresh one).
pub(crate) fn remove(dir: &Path) -> Result<()> {
    for d in [dir.to_path_buf(), old_path(dir)] {
        if d.exists() {
            std::fs::remove_dir_all(&d).map_err(write_err(&d))?;
        }
    }
    Ok(())
}

/// Restores the trained parameters of `student`, the state of `trainer` and the language
/// discriminator (when there is one) from `dir`, checking that it was written by a run with
/// `fingerprint`.
pub(crate) fn load(
    dir: &Path,
    fingerprint: &str,
    student: &Encoder,
    trainer: &mut Trainer,
    discriminator: Option<&mut Discriminator>,
) -> Result<CheckpointState> {
    let resume_err = |reason: String| Error::Resume {
        path: dir.into(),
        reason,
    };
    let text = std::fs::read_to_string(dir.join(STATE)).map_err(|source| Error::Io {
        path: dir.join(STATE),
        source,
    })?;
    let state: CheckpointState =
        serde_json::from_str(&text).map_err(|e| resume_err(format!("state.json: {e}")))?;
    if state.fingerprint != fingerprint {
        return Err(resume_err(format!(
            "written by configuration {} , this run is {fingerprint}",
            state.fingerprint
        )));
    }
    if state.losses.len() != state.step {
        return Err(resume_err("loss history does not match the step".into()));
    }
    let saved: std::collections::HashMap<String, Tensor> =
        Tensor::read_safetensors(dir.join(WEIGHTS))?
            .into_iter()
            .collect();
    let vars = student.var_store().variables();
    let mut trained = 0;
    let _guard = tch::no_grad_guard();
    for (name, mut var) in vars {
        if !var.requires_grad() {
            continue;
        }
        let value = saved
            .get(&name)
            .ok_or_else(|| resume_err(format!("no weights for `{name}`")))?;
        if value.size() != var.size() {
            return Err(resume_err(format!("`{name}` has another shape")));
        }
        var.f_copy_(value)?;
        trained += 1;
    }
    if trained != saved.len() {
        return Err(resume_err(format!(
            "{} saved tensors for {trained} trained parameters (another freeze setting?)",
            saved.len()
        )));
    }
    trainer.load_state(dir.join(OPTIMIZER))?;
    if trainer.step() != state.step {
        return Err(resume_err(format!(
            "optimiser at step {}, state at step {}",
            trainer.step(),
            state.step
        )));
    }
    if let Some(d) = discriminator {
        d.load(dir)?;
        if d.steps() != state.step {
            return Err(resume_err(format!(
                "discriminator at step {}, state at step {}",
                d.steps(),
                state.step
            )));
        }
    }
    Ok(state)
}
