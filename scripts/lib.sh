# Shared setup steps for scripts/run.sh and scripts/test.sh. Each step is idempotent: it checks
# first and installs only what is missing, so the quick start works on a fresh Debian machine
# and costs seconds on a prepared one.

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# Installs the named Debian packages that are not installed yet.
ensure_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# What building and running Vidpress needs: the FFmpeg libraries, clang/cmake for whisper.cpp,
# and the Hunspell dictionaries drafts are spell-checked with (English, German, Spanish, French).
BUILD_PACKAGES=(pkg-config clang libclang-dev cmake make g++ libavcodec-dev libavformat-dev
  libavutil-dev libswresample-dev libswscale-dev libavfilter-dev libavdevice-dev
  python3 python3-venv python3-pip ca-certificates curl
  hunspell-en-us hunspell-de-de hunspell-es hunspell-fr)
# What the tests add: FFmpeg and espeak-ng to make test media, PostgreSQL's client, Chromium
# with its WebDriver for the dashboard's browser tests, and PHP with the MariaDB client for the
# export tests' WordPress (the `wordpress` package itself: scripts/export-peers.sh).
TEST_PACKAGES=(ffmpeg espeak-ng postgresql-client chromium chromium-driver fonts-dejavu-core
  php-cli php-mysql php-curl php-gd php-xml php-mbstring mariadb-client iproute2)

ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    [[ -x "$HOME/.cargo/bin/cargo" ]] || {
      log "installing the Rust toolchain with rustup"
      curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt,clippy
    }
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
}

ensure_python_tools() {
  bash "$repo_root/scripts/python-tools.sh"
}

# Starts a local PostgreSQL when none answers on 127.0.0.1:5432 (trust auth for local tests).
ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return; fi
  ensure_apt postgresql
  log "starting a local PostgreSQL on 127.0.0.1:5432"
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
  if [[ -z "$version" ]]; then
    as_root pg_createcluster --start-conf=manual "$(ls /usr/lib/postgresql | sort -V | tail -n1)" main >/dev/null
    version=$(ls /etc/postgresql | sort -V | tail -n1)
  fi
  local hba="/etc/postgresql/$version/main/pg_hba.conf"
  if ! as_root grep -q "vidpress-tests" "$hba"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust # vidpress-tests' "$hba"
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null ||
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && return; sleep 1; done
  echo "PostgreSQL did not start on 127.0.0.1:5432" >&2
  return 1
}

# WordPress (Debian's package, PHP, the MariaDB on 127.0.0.1:3306) and Ghost 5 (npm, cached in
# ~/.cache/vidpress) for the export tests; scripts/export-peers.sh says how.
ensure_export_peers() {
  bash "$repo_root/scripts/export-peers.sh"
}

# ensure_model BINARY: the Whisper base model, the Silero VAD and MiniLM sentence-embedding models
# (and the converter tests' CTranslate2 model).
source "$repo_root/scripts/install-model.sh"
