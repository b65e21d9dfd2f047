#!/usr/bin/env bash
# Set up a virtual environment (.venv) with the project and its test tools, then run the tests.
# Works on a fresh machine with Python 3.11+ and pip; extra pytest arguments are passed on.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
.venv/bin/ruff check .
# Headless Chromium for the report screenshot tests (skipped where it is missing)
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
    || echo "chromium could not be installed; its screenshot tests are skipped" >&2
fi
# loadgroup: a module marked xdist_group (the Meltano project tests) stays on one worker
.venv/bin/python -m pytest -n 2 --dist loadgroup "$@"
