#!/usr/bin/env bash
# Regenerates the draft-quality corpus (crates/vidpress-draft/tests/fixtures/corpus): speaks each
# hand-written script with espeak-ng (or flite), with its silence or music intro, and transcribes
# it with our own `vidpress transcribe` and the Whisper base model. Long scripts are composed from
# the others' transcripts, so the whole corpus costs about 25 minutes of audio to transcribe.
#
# Usage: scripts/make-draft-corpus.sh [NAME...]   (default: every script)
# Needs: espeak-ng, flite, ffmpeg, python3, the base model (scripts/install-model.sh).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
for tool in espeak-ng flite ffmpeg python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install -y $tool" >&2; exit 1; }
done
bin="${VIDPRESS_BIN:-}"
if [[ -z "$bin" ]]; then
  (cd "$repo" && cargo build --locked --bin vidpress)
  bin="$repo/target/debug/vidpress"
fi
# shellcheck source=install-model.sh
source "$repo/scripts/install-model.sh"
ensure_model "$bin"
VIDPRESS_MODELS_DIR="${VIDPRESS_MODELS_DIR:-$repo/models}" \
  python3 "$repo/scripts/make-draft-corpus.py" "$bin" "$repo/crates/vidpress-draft/tests/fixtures/corpus" "$@"
