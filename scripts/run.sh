#!/usr/bin/env bash
# Quick start, part one: installs what Vidpress needs (Debian packages, Rust, yt-dlp, the Whisper
# base model), builds it in release mode and runs `vidpress serve` on its embedded defaults:
# http://127.0.0.1:8080, a SQLite database under ./data. Extra arguments go to `vidpress serve`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo_root"

ensure_apt "${BUILD_PACKAGES[@]}"
ensure_rust
ensure_python_tools
log "building vidpress (release)"
cargo build --release --locked --bin vidpress
ensure_model target/release/vidpress
listen="${VIDPRESS_LISTEN:-127.0.0.1:8080}"
log "starting vidpress serve"
log "open http://$listen/ in a browser. First visit: create the first account (the administrator),
    then link a YouTube channel (Channels) or paste a video URL (Videos). Ctrl-C stops the server.
    The address and what to do first are printed again below once the server listens."
exec target/release/vidpress serve "$@"
