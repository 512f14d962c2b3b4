#!/usr/bin/env bash
# Schemathesis against the OpenAPI document the real `scf` binary serves:
# one run without credentials and one with the operator admin's token,
# every operation, every check. Requirements: no 5xx, and every response
# (status, content type, headers, body) as the document says.
#
# Uses target/debug/scf (built by `cargo test --workspace`; built here if
# missing) and installs Schemathesis from PyPI into a venv under target/.
# SCHEMATHESIS_SECONDS bounds each run (default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

VERSION=4.32.5
VENV=target/schemathesis-venv
SECONDS_PER_RUN=${SCHEMATHESIS_SECONDS:-60}
SCF=${SCF_BIN:-target/debug/scf}

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "version $VERSION\$"; then
  echo "== installing schemathesis $VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$VERSION"
fi
[ -x "$SCF" ] || cargo build -q -p scf-backend --bin scf

out=target/schemathesis
rm -rf "$out" && mkdir -p "$out"
tmp=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
# Only what is set here reaches the server.
for v in $(env | grep -o '^SCF_[A-Z_]*' || true); do unset "$v"; done
export SCF_DATA_DIR="$tmp/data" SCF_LISTEN="127.0.0.1:$port" SCF_LOG=warn
# No rate limit: this run checks answers against the document, and a burst
# of anonymous cases from one address would otherwise meet 429 where the
# check expects 401. The limiter has its own tests (backend tests/api/limits.rs).
export SCF_RATE_LIMIT_PER_SEC=0

"$SCF" bootstrap --name "Schemathesis Operator" --key-out "$tmp/admin.key" > "$tmp/bootstrap.txt"
token=$(sed -n 's/^API token *//p' "$tmp/bootstrap.txt")
[ -n "$token" ] || { echo "no token in the bootstrap output"; exit 1; }
"$SCF" serve > "$out/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  python3 -c "import urllib.request as u; u.urlopen('$base/readyz', timeout=1)" 2>/dev/null && break
  sleep 0.1
done

status=0
run() {
  local name=$1
  shift
  echo "== schemathesis: $name (at most ${SECONDS_PER_RUN}s)"
  # One worker: CPython 3.11's ast.parse is not thread-safe ("AST
  # constructor recursion depth mismatch"), and hypothesis calls it.
  # From inside $out: Schemathesis and Hypothesis keep caches in the
  # working directory.
  (cd "$out" && "$root/$VENV/bin/schemathesis" --config-file "$root/.ci/schemathesis.toml" \
    run "$base/openapi.json" \
    --checks all --workers 1 --max-examples 50 --max-time "$SECONDS_PER_RUN" \
    --generation-database "examples-$name" --no-color \
    --report junit --report-junit-path "$name.xml" "$@" \
    > "$name.txt" 2>&1) || status=1
  # The summary: operations, phases, failures, the case count and time.
  sed -n '/^=* SUMMARY =*$/,$p' "$out/$name.txt"
  if [ "$status" -ne 0 ]; then
    sed -n '/^=* FAILURES =*$/,/^=* SUMMARY =*$/p' "$out/$name.txt" | head -200
  fi
}
run anonymous
run authenticated -H "Authorization: Bearer $token"
# A 5xx leaves its cause in the server log only. (actix's own ERROR lines
# about unparsable requests are the client's fault and answered 400.)
if grep -E ' ERROR scf_' "$out/server.log" | head -20 | grep .; then
  echo "the server logged errors (above; all of it in $out/server.log)"
  status=1
fi
exit "$status"
