#!/usr/bin/env bash
# Installs the real peers the export tests talk to: WordPress (Debian's package, served by PHP's
# built-in server against the local MariaDB) and Ghost 5.130.6 (npm, on SQLite). Idempotent.
#
# Ghost is installed once into a cache directory outside the clone (~/.cache/vidpress/ghost-5.130.6,
# or $VIDPRESS_GHOST_DIR) so later runs start it in seconds; a cold install takes ~3 minutes.
# Nothing here reaches off the machine except the package registries the system is set up with:
# native modules that would download prebuilt binaries from elsewhere are compiled locally.
#
# Usage: scripts/export-peers.sh [wordpress|ghost]...   (both when no argument)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$repo_root/scripts/lib.sh"

GHOST_VERSION=5.130.6
ghost_dir="${VIDPRESS_GHOST_DIR:-$HOME/.cache/vidpress/ghost-$GHOST_VERSION}"

# WordPress and the PHP it runs on. The `wordpress` package pulls in apache2: a policy-rc.d that
# refuses every start keeps the installation from starting it (the tests use PHP's own server).
install_wordpress() {
  local wp_packages=(wordpress wordpress-theme-twentytwentythree php-cli php-mysql php-curl
    php-gd php-xml php-mbstring mariadb-client)
  local missing=()
  for pkg in "${wp_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    local policy=/usr/sbin/policy-rc.d placed=0
    if [[ ! -e $policy ]]; then
      printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
      as_root chmod 755 "$policy"
      placed=1
    fi
    ensure_apt "${missing[@]}"
    if ((placed)); then as_root rm -f "$policy"; fi
  fi
  # The tests need a MariaDB (or MySQL) server on 127.0.0.1:3306 where root has no password.
  if ! mariadb -h 127.0.0.1 -P 3306 -u root -e 'SELECT 1' >/dev/null 2>&1; then
    ensure_apt mariadb-server
    log "starting MariaDB on 127.0.0.1:3306"
    as_root mkdir -p /run/mysqld
    as_root chown mysql:mysql /run/mysqld 2>/dev/null || true
    (as_root mysqld_safe --bind-address=127.0.0.1 --port=3306 >/dev/null 2>&1 &)
    for _ in $(seq 1 60); do
      mariadb -h 127.0.0.1 -P 3306 -u root -e 'SELECT 1' >/dev/null 2>&1 && break
      # A fresh server lets root in only through the socket: allow the empty password over TCP.
      as_root mariadb -u root -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket" >/dev/null 2>&1 || true
      sleep 1
    done
    mariadb -h 127.0.0.1 -P 3306 -u root -e 'SELECT 1' >/dev/null ||
      { echo "MariaDB does not answer on 127.0.0.1:3306 for root without a password" >&2; return 1; }
  fi
}

# Ghost from its npm package, without its development dependencies (one of them is a Git
# tarball npm would resolve even with --omit=dev), built against the local Node headers.
install_ghost() {
  if [[ -f "$ghost_dir/.installed" ]]; then return; fi
  # Node 18 or 20 with npm (Debian's `nodejs` and `npm`, or a Node build that ships npm), and
  # what node-gyp needs to compile sqlite3 and re2.
  command -v npm >/dev/null 2>&1 || ensure_apt nodejs npm
  ensure_apt python3 make g++
  # node-gyp builds against the installed headers (it would download them otherwise).
  [[ -f /usr/include/node/node.h ]] || ensure_apt libnode-dev
  log "installing Ghost $GHOST_VERSION into $ghost_dir (first time only, ~3 minutes)"
  local parent work registry
  parent="$(dirname "$ghost_dir")"
  mkdir -p "$parent"
  work="$(mktemp -d "$parent/.ghost-install.XXXXXX")"
  trap 'rm -rf "$work"' RETURN
  registry="$(npm config get registry)"
  registry="${registry%/}/"
  (cd "$work" && npm pack --silent "ghost@$GHOST_VERSION" >/dev/null && tar xzf "ghost-$GHOST_VERSION.tgz")
  local app="$work/package"
  node -e '
    const fs = require("fs");
    const file = process.argv[1];
    const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
    delete pkg.devDependencies;
    fs.writeFileSync(file, JSON.stringify(pkg, null, 2));
  ' "$app/package.json"
  # yarn.lock pins the versions; npm reads it, fetching from the registry this machine uses.
  if [[ -f "$app/yarn.lock" ]]; then
    sed -E -i "s#^([[:space:]]+resolved \")https?://[^/]+/#\\1${registry}#" "$app/yarn.lock"
  fi
  (
    cd "$app"
    # sqlite3 and re2 would download prebuilt binaries from their projects' release pages:
    # a closed loopback port and re2's own switch make them compile here at once instead.
    export npm_config_sqlite3_binary_host="http://127.0.0.1:9"
    export npm_config_sqlite3_binary_host_mirror="http://127.0.0.1:9"
    export DEVELOPMENT_SKIP_GETTING_ASSET=1
    export npm_config_nodedir=/usr
    npm install --omit=dev --legacy-peer-deps --no-audit --no-fund --loglevel=error
  )
  node -e 'require(process.argv[1] + "/node_modules/sqlite3")' "$app"
  touch "$app/.installed"
  rm -rf "$ghost_dir"
  mv "$app" "$ghost_dir"
  log "Ghost $GHOST_VERSION installed in $ghost_dir"
}

targets=("$@")
((${#targets[@]})) || targets=(wordpress ghost)
for target in "${targets[@]}"; do
  case "$target" in
    wordpress) install_wordpress ;;
    ghost) install_ghost ;;
    *) echo "usage: $0 [wordpress|ghost]..." >&2; exit 2 ;;
  esac
done
