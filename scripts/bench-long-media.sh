#!/usr/bin/env bash
# Peak memory against media length (issue 15): mostly silent audio of 60 and 240 minutes, one
# spoken sentence (espeak-ng) every 5 minutes, FLAC, through the whole `vidpress transcribe`
# command (decode, voice activity detection, Whisper, output files). Prints one JSON line per
# length with the wall time, the peak RSS (the kernel's high-water mark for the child) and the
# number of words transcribed, and appends it to target/bench/long-media.jsonl.
#
#   scripts/bench-long-media.sh                 60 and 240 minutes, release build
#   MINUTES="10 60" scripts/bench-long-media.sh other lengths (multiples of 5)
#   VIDPRESS_BIN=path/to/vidpress scripts/bench-long-media.sh   another build (e.g. an older one)
#
# Needs espeak-ng, ffmpeg, the base model and the Silero VAD model in ./models
# (scripts/install-model.sh). The audio is mostly silence so that Whisper's own time stays
# small (the VAD skips the silence); what is measured is memory against length.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="$root/target/bench"; mkdir -p "$out"
media="$out/long-media"; mkdir -p "$media"
if [[ -z "${VIDPRESS_BIN:-}" ]]; then
  cargo build --release --locked --bin vidpress >&2
  VIDPRESS_BIN="$root/target/release/vidpress"
fi
export VIDPRESS_MODELS_DIR="${VIDPRESS_MODELS_DIR:-$root/models}"

unit="$media/unit-5min.wav"
if [[ ! -s "$unit" ]]; then
  espeak-ng -v en-us -s 165 -w "$media/sentence.wav" \
    "The old baker opens his shop before the sun comes up."
  ffmpeg -nostdin -hide_banner -loglevel error -y -i "$media/sentence.wav" \
    -af "aresample=16000,apad=whole_dur=300" -ac 1 -c:a pcm_s16le "$unit"
fi

for minutes in ${MINUTES:-60 240}; do
  file="$media/silence-speech-${minutes}min.flac"
  if [[ ! -s "$file" ]]; then
    ffmpeg -nostdin -hide_banner -loglevel error -y -stream_loop $((minutes / 5 - 1)) \
      -i "$unit" -c:a flac "$file.tmp.flac"
    mv "$file.tmp.flac" "$file"
  fi
  tmp="$(mktemp -d)"
  python3 - "$minutes" "$tmp" "$VIDPRESS_BIN" transcribe "$file" --out "$tmp" <<'PY' | tee -a "$out/long-media.jsonl"
import glob, json, os, resource, subprocess, sys, time
minutes, tmp, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
t = time.time()
subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
wall = time.time() - t
body = json.load(open(glob.glob(os.path.join(tmp, "*.json"))[0]))
words = sum(len(s.get("words", [])) for s in body.get("segments", []))
print(json.dumps({"minutes": int(minutes), "bin": cmd[0], "wall_s": round(wall, 1),
                  "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
                  "words": words, "load_avg": os.getloadavg()[0]}))
PY
  rm -rf "$tmp"
done
