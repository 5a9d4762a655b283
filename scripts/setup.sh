#!/usr/bin/env bash
# Installs the Debian 12 packages libchat needs (only the missing ones) and
# builds it. Usage: scripts/setup.sh [build-dir]  (default: build)
# With CI=true, warnings are errors.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${1:-build}
PACKAGES=(build-essential cmake ninja-build pkg-config
          libasio-dev libfmt-dev nlohmann-json3-dev libsqlite3-dev libssl-dev libargon2-dev
          libcurl4-openssl-dev catch2 curl jq python3 python3-aiosmtpd openssl)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

WERROR=OFF
[ "${CI:-}" = "true" ] && WERROR=ON
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIBCHAT_WARNINGS_AS_ERRORS=$WERROR >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)"
