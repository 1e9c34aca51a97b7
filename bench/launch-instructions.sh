#!/usr/bin/env bash
# The server's user-space instructions per launch, counted by callgrind: steadier than
# CPU time on a shared machine, and blind to the kernel (sockets, fsync), which
# observability does not change. bench/observability.sh's builds are compared with it in
# docs/BENCHMARKS.md.
#
# Serves BINARY under valgrind on a fresh data directory, registers bench/one-step.json,
# launches 500 cases to warm up, then counts the instructions of LAUNCHES more (16
# connections, oha) and prints their mean. Group commit batches differ from run to run,
# so counts vary by about 1.5%.
#
#   bench/launch-instructions.sh BINARY [VAR=VALUE...]     the server's environment
#   LAUNCHES=10000 bench/launch-instructions.sh BINARY
# Needs valgrind and oha.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin=$1
shift
launches="${LAUNCHES:-3000}"
port=18193
scratch="$(mktemp -d)"
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
    rm -rf "$scratch"
}
trap cleanup EXIT

# Counting starts switched off, and callgrind_control switches it on after the warm-up.
env "$@" KNHK_LISTEN="127.0.0.1:$port" KNHK_STATE_STORE_PATH="$scratch/data" \
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$scratch/callgrind.out" \
    "$bin" >/dev/null 2>"$scratch/valgrind.log" &
server=$!
until curl -sf "http://127.0.0.1:$port/ready" >/dev/null; do sleep 0.3; done
curl -sf -X POST "http://127.0.0.1:$port/workflows" -H 'Content-Type: application/json' \
    --data-binary "@$root/bench/one-step.json" >/dev/null
launch() {
    oha --no-tui --output-format json -n "$1" -c 16 -m POST -H 'Content-Type: application/json' \
        -d '{"spec_id": "one-step"}' "http://127.0.0.1:$port/cases" >"$scratch/oha.json"
    python3 - "$1" "$scratch/oha.json" <<'PY'
import json, sys
n, r = int(sys.argv[1]), json.load(open(sys.argv[2]))
codes = r["statusCodeDistribution"]
if codes != {"201": n}:
    sys.exit(f"launches answered {codes}, not {n} times 201")
PY
}
launch 500
callgrind_control -i on "$server" >/dev/null 2>&1
launch "$launches"
callgrind_control -i off "$server" >/dev/null 2>&1
kill "$server"
wait "$server" 2>/dev/null || true
server=""
total="$(awk '/Collected :/ {print $NF; exit}' "$scratch/valgrind.log")"
echo "$((total / launches)) instructions per launch (user space, mean of $launches)"
