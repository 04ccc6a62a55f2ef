#!/usr/bin/env bash
# Quick start, part two: installs everything the test suite needs (Debian packages, Rust, yt-dlp
# and the test WebSub hub, the Whisper base model, a local PostgreSQL when none answers on
# 127.0.0.1:5432, WordPress and Ghost for the export tests) and runs the whole suite. Extra
# arguments go to the test runner.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo_root"

ensure_apt "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
ensure_rust
ensure_python_tools
ensure_postgres
export VIDPRESS_TEST_POSTGRES_URL="${VIDPRESS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
# WordPress and Ghost install (Ghost from npm, minutes when cold) while the build runs.
mkdir -p target
peers_log="$repo_root/target/export-peers.log"
log "installing the export peers in the background (log: $peers_log)"
bash "$repo_root/scripts/export-peers.sh" >"$peers_log" 2>&1 &
peers_pid=$!
# The test build (which also builds the binary the model installer runs): building the binary
# alone would build its dependencies a second time with other features.
cargo test --workspace --locked --no-run
ensure_model target/debug/vidpress
if ! wait "$peers_pid"; then
  cat "$peers_log" >&2
  echo "test.sh: installing the export peers (WordPress, Ghost) failed; the log is above" >&2
  exit 1
fi

if cargo nextest --version >/dev/null 2>&1; then
  log "running the test suite with cargo nextest"
  cargo nextest run --workspace --locked --no-fail-fast "$@"
else
  log "running the test suite with cargo test"
  cargo test --workspace --locked --no-fail-fast "$@"
fi
