#!/usr/bin/env bash
# What observability costs, measured in one invocation against builds without it.
#
# Two builds without observability are made beside this tree, in release mode, each in a
# worktree of its own under target/:
#   off            BASE (default e9fc6b3, the last commit before metrics, logs and
#                  traces): what the service cost before; it also lacks what came with
#                  observability's dependencies (hyper built with HTTP/2 for the OTLP
#                  exporter's gRPC client) and the XES export
#   patched-out    this tree's commit with bench/observability-off.patch applied: the
#                  same build with observability's work compiled out, so the difference
#                  is what observability itself costs
# and this tree runs as
#   metrics        /metrics on (always), no OTLP endpoint
#   metrics+traces exporting every span over OTLP/gRPC to a local receiver
#                  (crates/knhk/tests/otlp/receiver.py, which decodes every span); the
#                  spans it could not take are counted as dropped
# Then, interleaved so that every build sees the same machine:
#   - two rounds of bench/http.sh (launch, claim, complete over HTTP on loopback)
#     against off, metrics and metrics+traces;
#   - five rounds of launches at saturation for 5 s against all four, and metrics+traces
#     sampling a tenth of the traces (OTEL_TRACES_SAMPLER=parentbased_traceidratio, 0.1),
#     with the server's CPU time per request (user + system, from /proc): the cost per
#     request, which the receiver, on the same two cores, does not blur;
#   - bench/launch-instructions.sh against the same five: user-space instructions per
#     launch, steadier than CPU time;
#   - two rounds of the durable engine benchmark (crates/knhk-runtime/benches/durable.rs)
#     of BASE and of this tree: cases/s and p99 per call with 1, 64 and 1,024 cases in
#     flight; this tree's run also prints the cost of hot-path sampling on the in-memory
#     store.
# Every server runs at the default log level, info: what a deployment pays.
# Needs oha and wrk (as bench/http.sh does), valgrind, and .venv (.ci/deps.sh) for the
# receiver.
#
#   bench/observability.sh                       about 40 minutes
#   SECONDS_PER_RUN=5 bench/observability.sh     shorter HTTP runs
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base_rev="${BASE:-e9fc6b3}"
# BASE's checkout and build stay under target/, so that a second run rebuilds little.
base_target="$root/target/observability-base"
base="$base_target/src"
scratch="$(mktemp -d)"
receiver=""
cleanup() {
    if [ -n "$receiver" ]; then kill "$receiver" 2>/dev/null || true; fi
    rm -rf "$scratch"
}
trap cleanup EXIT

if [ ! -d "$base" ]; then
    git -C "$root" worktree add --quiet --detach "$base" "$base_rev"
fi
git -C "$base" checkout --quiet --detach "$base_rev"
patched_target="$root/target/observability-off"
patched="$patched_target/src"
head_rev="$(git -C "$root" rev-parse HEAD)"
if [ ! -d "$patched" ]; then
    git -C "$root" worktree add --quiet --detach "$patched" "$head_rev"
fi
# --force drops the patch applied by an earlier run.
git -C "$patched" checkout --quiet --force --detach "$head_rev"
git -C "$patched" apply "$root/bench/observability-off.patch"
echo "== building $base_rev, $head_rev patched out, and this tree (release)"
(cd "$base" && CARGO_TARGET_DIR="$base_target" cargo build --release --quiet -p knhk)
# The patch leaves code unused: its warnings are no news.
(cd "$patched" && CARGO_TARGET_DIR="$patched_target" cargo build --release --quiet -p knhk \
    2>"$scratch/patched-build.log") || { cat "$scratch/patched-build.log"; exit 1; }
(cd "$root" && cargo build --release --quiet -p knhk)

# The receiver serves until its stdin closes: a FIFO held open here.
mkfifo "$scratch/receiver-in"
"$root/.venv/bin/python3" "$root/crates/knhk/tests/otlp/receiver.py" \
    <"$scratch/receiver-in" >"$scratch/spans" &
receiver=$!
exec 3>"$scratch/receiver-in"
until [ -s "$scratch/spans" ]; do sleep 0.1; done
grpc_port="$(head -n 1 "$scratch/spans" | python3 -c 'import json,sys; print(json.load(sys.stdin)["grpc"])')"
# The environment of a server exporting every trace to the receiver, and of one
# sampling a tenth of them.
traced=(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$grpc_port" OTEL_SERVICE_NAME=knhk-bench)
sampled=("${traced[@]}" OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1)

# http NAME BINARY [VAR=VALUE...]: bench/http.sh against BINARY, each line led by NAME.
http() {
    local name=$1 bin=$2
    shift 2
    env "$@" KNHK_BIN="$bin" KNHK_LOG_LEVEL=info "$root/bench/http.sh" | sed "s/^/$name  /"
}

for round in 1 2; do
    echo "== HTTP, round $round"
    http "off           " "$base_target/release/knhk"
    http "metrics       " "$root/target/release/knhk"
    before="$(wc -l <"$scratch/spans")"
    http "metrics+traces" "$root/target/release/knhk" "${traced[@]}"
    echo "metrics+traces  spans received: $(($(wc -l <"$scratch/spans") - before))"
done

# cpu NAME BINARY [VAR=VALUE...]: launches at saturation; req/s and CPU µs per request.
cpu() {
    local name=$1 bin=$2 port=18191
    shift 2
    local data
    data="$(mktemp -d -p "$scratch")"
    env "$@" KNHK_LISTEN="127.0.0.1:$port" KNHK_STATE_STORE_PATH="$data" \
        "$bin" >/dev/null &
    local server=$!
    until curl -sf "http://127.0.0.1:$port/ready" >/dev/null; do sleep 0.1; done
    curl -sf -X POST "http://127.0.0.1:$port/workflows" -H 'Content-Type: application/json' \
        --data-binary "@$root/bench/one-step.json" >/dev/null
    local before after
    before="$(awk '{print $14 + $15}' "/proc/$server/stat")"
    oha --no-tui --output-format json -z 5s -c 64 -m POST -H 'Content-Type: application/json' \
        -d '{"spec_id": "one-step"}' "http://127.0.0.1:$port/cases" >"$scratch/oha.json"
    after="$(awk '{print $14 + $15}' "/proc/$server/stat")"
    kill "$server"
    wait "$server" 2>/dev/null || true
    python3 - "$name" "$((after - before))" "$(getconf CLK_TCK)" "$scratch/oha.json" <<'PY'
import json, sys
name, ticks, hz, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
r = json.load(open(path))
n = sum(r["statusCodeDistribution"].values())
print(f"{name}  launch, saturation  {r['summary']['requestsPerSec']:>8.0f} req/s  "
      f"{ticks / hz / n * 1e6:6.1f} µs CPU per request")
PY
}

# every_server MEASURE: MEASURE NAME BINARY [VAR=VALUE...] for each of the five servers.
every_server() {
    "$1" "off           " "$base_target/release/knhk"
    "$1" "patched-out   " "$patched_target/release/knhk"
    "$1" "metrics       " "$root/target/release/knhk"
    "$1" "metrics+traces" "$root/target/release/knhk" "${traced[@]}"
    "$1" "traces 1/10   " "$root/target/release/knhk" "${sampled[@]}"
}

for round in 1 2 3 4 5; do
    echo "== launch CPU per request, round $round"
    every_server cpu
done

echo "== user-space instructions per launch (callgrind, 10,000 launches)"
instructions() {
    local name=$1
    shift
    echo "$name  $(LAUNCHES=10000 "$root/bench/launch-instructions.sh" "$@")"
}
every_server instructions

for round in 1 2; do
    echo "== durable engine, round $round"
    (cd "$base" && CARGO_TARGET_DIR="$base_target" \
        cargo bench --quiet -p knhk-runtime --bench durable 2>/dev/null) \
        | grep 'durable seq10' | sed 's/^/off      /'
    (cd "$root" && cargo bench --quiet -p knhk-runtime --bench durable 2>/dev/null) \
        | grep -E 'durable seq10|in memory' | sed 's/^/metrics  /'
done
