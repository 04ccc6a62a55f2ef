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
ensure_export_peers
export VIDPRESS_TEST_POSTGRES_URL="${VIDPRESS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
cargo build --locked --bin vidpress
ensure_model target/debug/vidpress

if cargo nextest --version >/dev/null 2>&1; then
  log "running the test suite with cargo nextest"
  cargo nextest run --workspace --locked --no-fail-fast "$@"
else
  log "running the test suite with cargo test"
  cargo test --workspace --locked --no-fail-fast "$@"
fi
