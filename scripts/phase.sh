#!/usr/bin/env bash
# Runs one named phase of a make target and prints its wall time, so slow steps are visible in CI.
# Usage: scripts/phase.sh NAME COMMAND [ARGS...]
set -uo pipefail
name=$1; shift
start=$(date +%s)
printf '\n==> %s\n' "$name" >&2
"$@"
rc=$?
printf '<== %s: %ss (exit %s)\n' "$name" "$(( $(date +%s) - start ))" "$rc" >&2
exit "$rc"
