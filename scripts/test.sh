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
.venv/bin/python -m pytest -n 2 "$@"
