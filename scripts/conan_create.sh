#!/usr/bin/env bash
# Creates the libchat Conan package offline and runs its test_package, the way CI does:
#
#   scripts/conan_create.sh [work-dir] [extra `conan create` arguments...]
#
# - Conan 2 comes from PyPI into a venv ($LIBCHAT_CONAN_VENV, default ~/.cache/libchat/conan2-venv), made
#   on first use. Installing it needs the network; when pip cannot, this script fails and says so.
# - CONAN_HOME is <work-dir>/conan-home (default work dir: ./build-conan), so nothing outside it is read
#   or written, and it has no remotes: every dependency must come from the profile's [platform_requires]
#   (conan/profiles/debian12, the Debian 12 packages), so a run never contacts a server.
# - The package is built shared (-o "&:shared=True"): the static build is covered by tests/package.
# - test_package is built in <work-dir>/test_package, not in the source tree.
# - ccache is used when installed (LIBCHAT_CONAN_CCACHE=0 turns it off).
# Exit status: 0 when the package was created and test_package built, linked and ran.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-$repo/build-conan}"
shift || true
mkdir -p "$work"
work="$(cd "$work" && pwd)"

venv="${LIBCHAT_CONAN_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/libchat/conan2-venv}"
conan="$venv/bin/conan"

conan_ok() {
  [[ -x "$conan" ]] && "$conan" --version 2>/dev/null | grep -Eq '^Conan version 2\.'
}

mkdir -p "$(dirname "$venv")"
# Several build trees may run this at once: one installs, the others wait for it.
exec 9>"$venv.lock"
flock 9
if ! conan_ok; then
  echo "conan_create: installing Conan 2 from PyPI into $venv"
  rm -rf "$venv"
  if ! python3 -m venv "$venv"; then
    echo "conan_create: FAILED: python3 -m venv $venv (on Debian: apt-get install python3-venv)" >&2
    exit 1
  fi
  if ! "$venv/bin/python" -m pip install --quiet "conan>=2,<3"; then
    rm -rf "$venv"
    echo "conan_create: FAILED: could not install Conan from PyPI (pip install 'conan>=2,<3');" \
         "this test needs network access to PyPI once, or a venv with Conan 2 in LIBCHAT_CONAN_VENV" >&2
    exit 1
  fi
  conan_ok || { echo "conan_create: FAILED: $conan is not Conan 2" >&2; exit 1; }
fi
flock -u 9
"$conan" --version

export CONAN_HOME="$work/conan-home"
mkdir -p "$CONAN_HOME"
# A fresh CONAN_HOME starts with ConanCenter configured; this run must not use any remote.
if [[ -n "$("$conan" remote list)" ]]; then
  "$conan" remote remove "*" >/dev/null
fi
"$conan" profile detect --exist-ok

if [[ "${LIBCHAT_CONAN_CCACHE:-1}" != 0 ]] && command -v ccache >/dev/null; then
  export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache
  # Conan's build folders differ per package revision; relative paths let ccache hit across them. Not with
  # the test suite (-c user.libchat:build_tests=True): tests that find source files from __FILE__ need it
  # absolute.
  if [[ " $* " != *"user.libchat:build_tests=True"* ]]; then
    export CCACHE_BASEDIR="$CONAN_HOME"
  fi
fi

start=$SECONDS
"$conan" create "$repo" \
  --profile:all "$repo/conan/profiles/debian12" \
  -o "&:shared=True" \
  --build=missing \
  -c tools.cmake.cmake_layout:test_folder="$work/test_package" \
  -c tools.cmake.cmaketoolchain:user_presets= \
  "$@"
echo "conan_create: conan create succeeded in $((SECONDS - start)) s"

# Keep only the newest recipe revision and drop build folders, so repeated runs do not fill the disk.
"$conan" remove "libchat/*#!latest" --confirm >/dev/null 2>&1 || true
"$conan" cache clean "*" --build --temp >/dev/null 2>&1 || true
