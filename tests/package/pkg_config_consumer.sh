#!/bin/sh
# Builds tests/package/consumer/main.cpp with nothing but pkg-config and the
# compiler, against the installed tree, and runs it.
# Usage: pkg_config_consumer.sh <install-prefix> <work-dir> [c++ compiler]
set -eu
prefix=$1
work=$2
cxx=${3:-c++}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
pkg-config --exists --print-errors "libchat >= 0.1"
echo "pkg-config: libchat $(pkg-config --modversion libchat)"
# --static: the installed libchat is a static library, so its private dependencies go on the link line too.
# shellcheck disable=SC2046
"$cxx" -std=c++17 -o "$work/consumer" "$here/consumer/main.cpp" $(pkg-config --cflags --libs --static libchat)
"$work/consumer" "$work/consumer.db"
