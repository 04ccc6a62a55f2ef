#!/usr/bin/env bash
# Builds `vidpress` with Whisper's and candle's CUDA backends (cargo feature `cuda`: transcription
# and header pictures on the GPU), on a machine with or
# without a GPU. It installs the CUDA 13 toolkit from its Python wheels into a folder of its own,
# fills in what the wheels lack, and builds into a target directory of its own so the CPU build
# stays untouched. Every step is skipped when already done; a second run only rebuilds what
# changed.
#
#   bash deploy/build-cuda.sh [--arch LIST] [--profile NAME] [--toolkit-only] [--tests-target]
#
#   --arch LIST      CUDA compute capabilities to compile for, as CMake spells them
#                    (default 90, or $CMAKE_CUDA_ARCHITECTURES): 90 for H100/H200, 89 for L4/L40,
#                    80 for A100, "80;90" for both (a bigger binary and a longer build).
#   --profile NAME   cargo profile (default release, the one to ship).
#   --toolkit-only   install and prepare the toolkit, then print the environment and stop.
#   --tests-target   build in the test suite's own target and profile, with its features
#                    (`cargo test --workspace --no-run --features vidpress-cli/cuda --test
#                    device`: the binary and one small test, with the features the whole suite
#                    unifies): only whisper.cpp, candle and the crates above them compile again,
#                    not every dependency in release. CI's check that the CUDA build compiles,
#                    links and falls back; the binary is target/debug/vidpress (a CPU test build
#                    afterwards links the CPU one again). Not for shipping: use the default
#                    release build.
#
# Environment: VIDPRESS_CUDA_TOOLKIT_DIR (default target/cuda-toolkit),
# VIDPRESS_CUDA_TARGET_DIR (default target/cuda). The binary lands in
# $VIDPRESS_CUDA_TARGET_DIR/<profile>/vidpress. deploy/README.md says what it needs at run time.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$repo_root"

# The versions PyTorch's CUDA 13.0 builds use, so a GPU machine with PyTorch has the same runtime.
# curand: candle opens it with the GPU (at run time only; nothing links against it).
CUDA_WHEELS=("cuda-toolkit[nvcc,cudart,cublas,curand,cccl,crt,nvvm]==13.0.2" "nvidia-cuda-culibos==13.0.85")

arch="${CMAKE_CUDA_ARCHITECTURES:-90}"
profile=release
toolkit_only=0
tests_target=0
while (($#)); do
  case "$1" in
    --arch) arch="${2:?--arch needs a value such as 90}"; shift 2 ;;
    --arch=*) arch="${1#*=}"; shift ;;
    --profile) profile="${2:?--profile needs a value}"; shift 2 ;;
    --profile=*) profile="${1#*=}"; shift ;;
    --toolkit-only) toolkit_only=1; shift ;;
    --tests-target) tests_target=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-cuda.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
[[ "$arch" =~ ^[0-9]+[a-z]?(-(real|virtual))?(\;[0-9]+[a-z]?(-(real|virtual))?)*$ ]] || {
  echo "build-cuda.sh: --arch must be CUDA compute capabilities such as 90 or \"80;90\", got $arch" >&2
  exit 2
}

toolkit_dir="${VIDPRESS_CUDA_TOOLKIT_DIR:-$repo_root/target/cuda-toolkit}"
target_dir="${VIDPRESS_CUDA_TARGET_DIR:-$repo_root/target/cuda}"
mkdir -p "$toolkit_dir"
toolkit_dir="$(cd "$toolkit_dir" && pwd)"

ensure_apt "${BUILD_PACKAGES[@]}" gcc
ensure_rust

# 1. The toolkit wheels, in a virtual environment of their own.
stamp="$toolkit_dir/.installed"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "${CUDA_WHEELS[*]}" ]]; then
  log "installing the CUDA toolkit wheels into $toolkit_dir"
  [[ -x "$toolkit_dir/venv/bin/pip" ]] || python3 -m venv "$toolkit_dir/venv"
  "$toolkit_dir/venv/bin/pip" install --quiet --disable-pip-version-check "${CUDA_WHEELS[@]}"
  printf '%s' "${CUDA_WHEELS[*]}" >"$stamp"
fi
cu13=$(ls -d "$toolkit_dir"/venv/lib/python3*/site-packages/nvidia/cu13 2>/dev/null | head -n1)
[[ -n "$cu13" && -x "$cu13/bin/nvcc" ]] || {
  echo "build-cuda.sh: no nvcc under $toolkit_dir/venv/…/nvidia/cu13 after installing the wheels" >&2
  exit 1
}
# A stable name for the toolkit root, whatever the Python version.
ln -sfn "$cu13" "$toolkit_dir/cuda"
cuda="$toolkit_dir/cuda"

# 2. What the wheels lack: the lib64 directory CMake looks in, unversioned library names for
# the linker, and libcuda (the driver's library, which only a driver installs).
[[ -e "$cuda/lib64" ]] || ln -s lib "$cuda/lib64"
for name in libcudart libcublas libcublasLt; do
  if [[ ! -e "$cuda/lib/$name.so" ]]; then
    versioned=$(cd "$cuda/lib" && ls "$name".so.[0-9]* 2>/dev/null | sort -V | head -n1)
    [[ -n "$versioned" ]] || { echo "build-cuda.sh: $cuda/lib has no $name.so.*" >&2; exit 1; }
    ln -s "$versioned" "$cuda/lib/$name.so"
  fi
done
stub="$cuda/lib/stubs/libcuda.so"
if [[ ! -f "$stub" ]]; then
  log "building a link-time stub libcuda.so from cuda.h"
  mkdir -p "$cuda/lib/stubs"
  # Every cu* function name, both as written and after cuda.h's versioning macros
  # (cuMemAlloc -> cuMemAlloc_v2). The stub is only linked against, never loaded: its soname
  # names the driver's library, which the dynamic loader finds on a GPU machine.
  {
    grep -oE '\bcu[A-Z][A-Za-z0-9_]*[[:space:]]*\(' "$cuda/include/cuda.h"
    gcc -E -P -I"$cuda/include" "$cuda/include/cuda.h" | grep -oE '\bcu[A-Z][A-Za-z0-9_]*[[:space:]]*\('
  } | sed 's/[[:space:]]*($//' | sort -u |
    awk '{ printf "int %s(void) { return 999; }\n", $1 }' >"$cuda/lib/stubs/libcuda-stub.c"
  gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$stub" "$cuda/lib/stubs/libcuda-stub.c"
fi

# 3. The environment whisper-rs-sys hands to CMake (it passes on every GGML_*, WHISPER_* and
# CMAKE_* variable) and the linker search path.
export PATH="$cuda/bin:$PATH"
export CUDAToolkit_ROOT="$cuda" CUDA_HOME="$cuda" CUDA_PATH="$cuda"
export CMAKE_CUDA_COMPILER="$cuda/bin/nvcc"
export CMAKE_CUDA_ARCHITECTURES="$arch"
# A portable binary: the common x86-64 instruction sets rather than this machine's.
export GGML_NATIVE=OFF GGML_AVX=ON GGML_AVX2=ON GGML_FMA=ON GGML_F16C=ON GGML_BMI2=ON GGML_SSE42=ON
# Without the virtual-memory allocator ggml needs nothing from libcuda.so.1 to start, so the
# binary also runs (on the CPU) where no driver is installed.
export GGML_CUDA_NO_VMM=ON
# Vidpress does not turn on whisper.cpp's flash attention, so its many CUDA kernel variants are
# left out: a much shorter build. GGML_CUDA_FA=ON builds them.
export GGML_CUDA_FA="${GGML_CUDA_FA:-OFF}"
# candle's kernels (candle-kernels' build script) are compiled for one compute capability, as
# there is no GPU to ask: the lowest one asked for, whose PTX the driver also runs on newer cards.
export CUDA_COMPUTE_CAP="$(tr ';' '\n' <<<"$arch" | sed 's/[^0-9].*//' | sort -n | head -n1)"
# candle-kernels links libcudart without saying where it is; the C compiler that links passes
# LIBRARY_PATH on (RUSTFLAGS would change every crate's fingerprint).
export LIBRARY_PATH="$cuda/lib${LIBRARY_PATH:+:$LIBRARY_PATH}"
# The linker finds the CUDA libraries and the libcuda stub through CUDA_PATH (whisper-rs-sys's
# build script). The shipped binary also looks for them in lib/ beside itself at run time.
if ((tests_target)); then
  # Any RUSTFLAGS would change every crate's fingerprint and rebuild them all.
  unset RUSTFLAGS
  target_dir="${CARGO_TARGET_DIR:-$repo_root/target}"
  profile=dev
else
  export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C link-arg=-Wl,-rpath,\$ORIGIN/lib"
  export CARGO_TARGET_DIR="$target_dir"
fi

if ((toolkit_only)); then
  for var in PATH CUDAToolkit_ROOT CUDA_HOME CUDA_PATH CMAKE_CUDA_COMPILER CMAKE_CUDA_ARCHITECTURES \
    GGML_NATIVE GGML_AVX GGML_AVX2 GGML_FMA GGML_F16C GGML_BMI2 GGML_SSE42 GGML_CUDA_NO_VMM GGML_CUDA_FA \
    CUDA_COMPUTE_CAP LIBRARY_PATH RUSTFLAGS CARGO_TARGET_DIR; do
    [[ -v $var ]] && printf 'export %s=%q\n' "$var" "${!var}"
  done
  exit 0
fi

# 4. The binary.
log "building vidpress with CUDA (compute capability $arch, profile $profile) into $target_dir"
if ((tests_target)); then
  cargo test --workspace --locked --no-run --features vidpress-cli/cuda --test device
else
  cargo build --locked -p vidpress-cli --features cuda --profile "$profile"
fi
out_dir="$profile"
[[ "$profile" == dev ]] && out_dir=debug
bin="$target_dir/$out_dir/vidpress"
log "built $bin ($(du -h "$bin" | cut -f1)); it needs: $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
