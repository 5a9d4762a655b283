#!/usr/bin/env bash
# The ctest test "bindings: python": installs this package into a venv (in the build tree) with a libchat_c that
# CMake built, then runs its pytest tests against the installed package.
#
# usage: run_tests.sh <python3> <venv-dir> <libchat_c library file>
#
# The venv sees the system's site-packages (so an installed pytest is used); what is missing there (pytest, and
# setuptools/wheel for the in-place build) is installed into the venv only.
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 <python3> <venv-dir> <libchat_c library>" >&2
  exit 2
fi
python=$1
venv=$2
library=$3
here=$(cd "$(dirname "$0")" && pwd)

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv --system-site-packages "$venv"
fi
py="$venv/bin/python"

missing=()
"$py" -c "import pytest" 2>/dev/null || missing+=(pytest)
"$py" -c "import setuptools" 2>/dev/null || missing+=("setuptools>=61")
# setuptools >= 70.1 has bdist_wheel built in; older ones need the wheel package.
"$py" -c "import setuptools.command.bdist_wheel" 2>/dev/null || "$py" -c "import wheel" 2>/dev/null || missing+=(wheel)
if [ ${#missing[@]} -gt 0 ]; then
  echo "run_tests: installing ${missing[*]} into $venv"
  "$py" -m pip install --quiet --disable-pip-version-check "${missing[@]}"
fi

LIBCHAT_C_LIBRARY="$library" "$py" -m pip install --quiet --disable-pip-version-check --no-build-isolation \
  --no-deps --force-reinstall "$here"

# From outside the source tree, so that `import libchat` is the installed package.
cd "$venv"
exec "$py" -m pytest -q -p no:cacheprovider "$here/tests"
