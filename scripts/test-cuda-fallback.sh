#!/usr/bin/env bash
# Checks a CUDA build of vidpress on a machine without a GPU (CI): it must start without the
# driver's libcuda.so.1, say once that it runs on the CPU, and transcribe a short clip there; it
# must also load a diffusion model (small random weights) and draw a picture on the CPU;
# `--device cuda` must fail with a clear message instead. On a machine with a GPU it checks that
# the GPU is used instead, by both.
#
#   bash scripts/test-cuda-fallback.sh [BINARY]   (default target/cuda/release/vidpress)
#
# Needs the toolkit that deploy/build-cuda.sh installed (for libcudart/libcublas), FFmpeg and
# espeak-ng for the test media, and the Whisper base model (installed here when missing).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo_root"

bin="${1:-${VIDPRESS_CUDA_TARGET_DIR:-target/cuda}/release/vidpress}"
toolkit="${VIDPRESS_CUDA_TOOLKIT_DIR:-target/cuda-toolkit}/cuda"
[[ -x "$bin" ]] || { echo "test-cuda-fallback: no binary at $bin (run deploy/build-cuda.sh)" >&2; exit 1; }
[[ -d "$toolkit/lib" ]] || { echo "test-cuda-fallback: no CUDA toolkit at $toolkit (run deploy/build-cuda.sh)" >&2; exit 1; }
# The CUDA runtime and cuBLAS from the toolkit wheels; libcuda.so.1 comes from a driver, if any.
export LD_LIBRARY_PATH="$(cd "$toolkit/lib" && pwd)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
unset RUST_LOG VIDPRESS_CONFIG VIDPRESS_DEVICE

fail() { echo "test-cuda-fallback: FAILED: $*" >&2; exit 1; }

log "checking the CUDA build $bin"
missing=$(ldd "$bin" | grep 'not found' || true)
[[ -z "$missing" ]] || fail "libraries not found:"$'\n'"$missing"
ldd "$bin" | grep -q 'libcublas\.so\.13' || fail "$bin is not linked against cuBLAS: not a CUDA build?"
ldd "$bin" | grep -q 'libcuda\.so' && fail "$bin needs libcuda.so.1 to start (build with GGML_CUDA_NO_VMM=ON)"

bash scripts/make-speech-media.sh target/test-media >/dev/null
clip="$repo_root/target/test-media/speech.wav"
ensure_model "$bin"

gpu=0
if [[ -e /dev/nvidia0 ]] && ldconfig -p | grep -q 'libcuda\.so\.1'; then gpu=1; fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

log "vidpress transcribe --device auto (GPU on this machine: $gpu)"
"$bin" transcribe "$clip" --device auto --out "$out" >"$out/stdout" 2>"$out/stderr" ||
  fail "transcribe --device auto exited with $?:"$'\n'"$(cat "$out/stderr")"
cat "$out/stderr" >&2
if ((gpu)); then
  grep -q 'Whisper runs on the GPU' "$out/stderr" || fail "a GPU is present but was not used"
else
  n=$(grep -c 'no usable CUDA GPU' "$out/stderr" || true)
  [[ "$n" == 1 ]] || fail "expected one line saying there is no usable CUDA GPU, got $n"
  grep -q 'Whisper runs on the CPU' "$out/stderr" || fail "the fallback line does not say it runs on the CPU"
  lines=$(grep -cv '^\s*$' "$out/stderr" || true)
  [[ "$lines" == 1 ]] || fail "expected the fallback line alone on stderr, got $lines lines"
fi

# The words of the clip: most of the script's longer words, and a few that Whisper base always
# gets right from espeak-ng's voice.
json="$out/speech.json"
[[ -s "$json" ]] || fail "no transcript written ($json)"
python3 - "$json" tests/fixtures/speech-script.txt <<'PY'
import json, re, sys
words = lambda t: set(re.findall(r"[a-z']+", t.lower()))
got = words(" ".join(s["text"] for s in json.load(open(sys.argv[1]))["segments"]))
script = {w for w in words(open(sys.argv[2]).read()) if len(w) >= 5}
for w in ["ovens", "flour", "teacher", "loaves", "bread", "river", "recipes", "market"]:
    assert w in got, f"`{w}` is missing from the transcript: {sorted(got)}"
found = len(script & got) / len(script)
assert found >= 0.8, f"only {found:.0%} of the script's words were heard: {sorted(got)}"
print(f"test-cuda-fallback: {found:.0%} of the script's longer words are in the transcript")
PY

if ((!gpu)); then
  log "vidpress transcribe --device cuda must fail without a GPU"
  if "$bin" transcribe "$clip" --device cuda --out "$out" 2>"$out/stderr-cuda" >/dev/null; then
    fail "--device cuda succeeded on a machine without a GPU"
  fi
  grep -q 'no usable CUDA GPU' "$out/stderr-cuda" || fail "unclear error: $(cat "$out/stderr-cuda")"
fi
# Header pictures: candle's CUDA backend, loaded when the model is.
log "vidpress bench diffusion --shapes tiny --device auto (GPU on this machine: $gpu)"
"$bin" bench diffusion --shapes tiny --device auto --pictures 1 --out "$out/picture.png" \
  >"$out/diffusion-stdout" 2>"$out/diffusion-stderr" ||
  fail "bench diffusion --device auto exited with $?:"$'\n'"$(cat "$out/diffusion-stderr")"
cat "$out/diffusion-stdout" "$out/diffusion-stderr" >&2
[[ -s "$out/picture.png" ]] || fail "no picture written"
if ((gpu)); then
  grep -q 'diffusion runs on the GPU' "$out/diffusion-stderr" || fail "diffusion did not use the GPU"
  grep -q ' on CUDA0, ' "$out/diffusion-stdout" || fail "the benchmark does not name the GPU"
else
  n=$(grep -c 'no usable CUDA GPU' "$out/diffusion-stderr" || true)
  [[ "$n" == 1 ]] || fail "expected one line saying there is no usable CUDA GPU, got $n"
  grep -q 'diffusion runs on the CPU' "$out/diffusion-stderr" || fail "the fallback line does not say diffusion runs on the CPU"
  grep -q ' on CPU, loaded in ' "$out/diffusion-stdout" || fail "the model was not loaded on the CPU"
  log "vidpress bench diffusion --device cuda must fail without a GPU"
  if "$bin" bench diffusion --shapes tiny --device cuda --pictures 1 >/dev/null 2>"$out/diffusion-cuda"; then
    fail "bench diffusion --device cuda succeeded on a machine without a GPU"
  fi
  grep -q 'no usable CUDA GPU' "$out/diffusion-cuda" || fail "unclear error: $(cat "$out/diffusion-cuda")"
fi
log "test-cuda-fallback: passed"
