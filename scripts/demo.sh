#!/usr/bin/env bash
# The demo: set everything up, start both emulators, run
#   meltano run tap-aimdoc target-salesforce-aimdoc
# in the `demo` environment, advance the Aimdoc emulator's clock, run again (incremental), stop.
# Works on a fresh machine with Python 3.11+ and pip. State is Meltano's own (.meltano/).
#
#   bash scripts/demo.sh [--aimdoc-port N] [--salesforce-port N]
#
# The emulators listen on free ports unless given ports (flags, or DEMO_AIMDOC_PORT and
# DEMO_SALESFORCE_PORT); a port in use fails the demo with one line naming it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
CONTACTS="${DEMO_CONTACTS:-300}"
AIMDOC_PORT="${DEMO_AIMDOC_PORT:-0}"
SALESFORCE_PORT="${DEMO_SALESFORCE_PORT:-0}"
while [ $# -gt 0 ]; do
  case "$1" in
    --aimdoc-port) AIMDOC_PORT="${2:?--aimdoc-port needs a port}"; shift 2 ;;
    --salesforce-port) SALESFORCE_PORT="${2:?--salesforce-port needs a port}"; shift 2 ;;
    *) echo "demo: unknown argument $1 (use --aimdoc-port N, --salesforce-port N)" >&2; exit 2 ;;
  esac
done
fail() { echo "demo: $*" >&2; exit 1; }

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Setting up .venv (project, Meltano) and the Meltano plugins"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
export PATH="$PWD/.venv/bin:$PATH"
rm -rf output/demo
meltano --environment demo install

step "Starting the Aimdoc and Salesforce emulators ($CONTACTS synthetic contacts)"
mkdir -p output/demo
python -m aimdoc_emulators --contacts "$CONTACTS" --work-dir output/demo \
  --aimdoc-port "$AIMDOC_PORT" --salesforce-port "$SALESFORCE_PORT" \
  --env-file output/demo/emulators.env > output/demo/emulators.log 2>&1 &
EMULATORS=$!
trap 'kill $EMULATORS 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do
  [ -s output/demo/emulators.env ] && break
  if ! kill -0 "$EMULATORS" 2>/dev/null; then
    reason="$(grep -E '[A-Za-z]+Error' output/demo/emulators.log | tail -1)"
    case "$reason" in
      *"in use"*|*EADDRINUSE*|*"[Errno 98]"*)
        fail "a port is in use (aimdoc ${AIMDOC_PORT}, salesforce ${SALESFORCE_PORT}); pass" \
             "free ones with --aimdoc-port N --salesforce-port N (0 picks any)" ;;
      *) fail "the emulators did not start: ${reason:-see output/demo/emulators.log}" ;;
    esac
  fi
  sleep 0.2
done
[ -s output/demo/emulators.env ] || fail "the emulators did not start in 30 s: see output/demo/emulators.log"
cat output/demo/emulators.log
# shellcheck disable=SC1091
source output/demo/emulators.env
meltano --environment demo state clear --force dev:tap-aimdoc-to-target-salesforce-aimdoc \
  >/dev/null 2>&1 || true
meltano --environment demo state clear --force demo:tap-aimdoc-to-target-salesforce-aimdoc \
  >/dev/null 2>&1 || true

summary() {
  grep -E "Run summary|  [a-z_]+ -> |Salesforce API calls|Report:" "$1" \
    | sed -E 's/^.*\| (target_salesforce_aimdoc) +\| /  /' || true
}

step "First run: meltano --environment demo run tap-aimdoc target-salesforce-aimdoc"
meltano --environment demo run tap-aimdoc target-salesforce-aimdoc > output/demo/run1.log 2>&1 \
  || { tail -40 output/demo/run1.log; exit 1; }
summary output/demo/run1.log
python - <<'PY'
import json, os, urllib.request, ssl
context = ssl.create_default_context(cafile=os.environ["TARGET_SALESFORCE_AIMDOC_CA_FILE"])
url = os.environ["SALESFORCE_EMULATOR_URL"] + "/__emulator/stats"
stats = json.load(urllib.request.urlopen(url, context=context))
print(f"  Salesforce emulator: {stats['api_calls']} API calls counted, "
      f"{stats['records']['created']} records created")
PY

step "Advancing the Aimdoc emulator's clock: new contacts, richer contacts, new messages"
python - <<'PY'
import json, os, urllib.request
request = urllib.request.Request(
    os.environ["AIMDOC_EMULATOR_ADMIN"] + "/advance", method="POST",
    data=json.dumps({"days": 1, "new_contacts": 5, "enriched_contacts": 8,
                     "conversations_with_new_messages": 12}).encode(),
    headers={"Content-Type": "application/json"})
changes = json.load(urllib.request.urlopen(request))
print("  " + ", ".join(f"{k}: {v}" for k, v in changes.items() if isinstance(v, int)))
PY

step "Second run: only the changes (state from Meltano's system database)"
meltano --environment demo run tap-aimdoc target-salesforce-aimdoc > output/demo/run2.log 2>&1 \
  || { tail -40 output/demo/run2.log; exit 1; }
summary output/demo/run2.log

step "Done"
echo "  HTML report of the last run: $PWD/output/demo/report/demo-tap-aimdoc-to-target-salesforce-aimdoc/run-report.html"
echo "  Links kept in Meltano state:  meltano --environment demo state get demo:tap-aimdoc-to-target-salesforce-aimdoc"
