#!/usr/bin/env bash
# Installs what vidpress-media's build and tests need besides Rust crates: FFmpeg's
# development libraries (for ffmpeg-next), clang (bindgen), the ffmpeg CLI and espeak-ng
# (the tests generate their media with them), and the pinned yt-dlp in .venv.
# Idempotent: installed packages are left alone.
#
# Usage: scripts/media-test-deps.sh
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

apt_packages=(
  pkg-config clang libclang-dev
  libavcodec-dev libavformat-dev libavutil-dev libswresample-dev libswscale-dev
  libavfilter-dev libavdevice-dev
  ffmpeg espeak-ng
  python3 python3-venv
)

missing=()
for pkg in "${apt_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  echo "media-test-deps: installing ${missing[*]}"
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
else
  echo "media-test-deps: system packages present"
fi

"$repo_root/scripts/python-tools.sh"
