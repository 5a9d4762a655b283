#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

# The browser tests (tests/browser) need Debian's Chromium, Node.js with npm, and playwright-core from npm.
# Only the tests do: building and running the server (scripts/setup.sh, scripts/run.sh) need none of them.
# Installed before configuring, so that CMake finds node and registers the browser test. The same goes for what
# the binding and packaging tests need.
test_missing=()
dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "install ok installed" || test_missing+=(chromium)
command -v node >/dev/null || test_missing+=(nodejs npm)
# The Python binding's test and the Conan package test make venvs (Debian's python3 needs python3-venv for that).
python3 -c "import ensurepip, venv" 2>/dev/null || test_missing+=(python3-venv)
if [ ${#test_missing[@]} -gt 0 ]; then
  echo "test: installing ${test_missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${test_missing[@]}"
fi
if [ ! -d tests/browser/node_modules ] || [ tests/browser/package-lock.json -nt tests/browser/node_modules ]; then
  (cd tests/browser && npm ci --no-audit --no-fund && touch node_modules)
fi

scripts/setup.sh build
cd build
ctest --output-on-failure -j 2 --timeout 300
