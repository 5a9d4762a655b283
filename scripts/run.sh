#!/usr/bin/env bash
# Installs what is missing, builds, and starts libchat-server on 127.0.0.1:8080
# with the embedded SQLite store ./libchat.db. Extra arguments go to the server
# (see: build/server/libchat-server --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
exec build/server/libchat-server "$@"
