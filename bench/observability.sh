#!/usr/bin/env bash
# What observability costs, measured in one invocation against a build without it.
#
# BASE (default e9fc6b3, the last commit before metrics, logs and traces) is checked out
# in a temporary worktree and built in release mode beside this tree. Then, two rounds,
# interleaved so that both builds see the same machine:
#   - bench/http.sh (launch, claim, complete over HTTP on loopback) against
#       off              BASE's binary: no metrics, no traces
#       metrics          this tree's binary: /metrics on (always), no OTLP endpoint
#       metrics+traces   this tree's binary exporting every span over OTLP/gRPC to a
#                        local receiver (crates/knhk/tests/otlp/receiver.py, which decodes
#                        every span); the spans it could not take are counted as dropped
#   - the durable engine benchmark (crates/knhk-runtime/benches/durable.rs) of BASE and of
#     this tree: cases/s and p99 per call with 1, 64 and 1,024 cases in flight; this
#     tree's run also prints the cost of hot-path sampling on the in-memory store.
# Needs oha and wrk (as bench/http.sh does) and .venv (.ci/deps.sh) for the receiver.
#
#   bench/observability.sh                       about 30 minutes
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
echo "== building $base_rev and this tree (release)"
(cd "$base" && CARGO_TARGET_DIR="$base_target" cargo build --release --quiet -p knhk)
(cd "$root" && cargo build --release --quiet -p knhk)

# The receiver serves until its stdin closes: a FIFO held open here.
mkfifo "$scratch/receiver-in"
"$root/.venv/bin/python3" "$root/crates/knhk/tests/otlp/receiver.py" \
    <"$scratch/receiver-in" >"$scratch/spans" &
receiver=$!
exec 3>"$scratch/receiver-in"
until [ -s "$scratch/spans" ]; do sleep 0.1; done
grpc_port="$(head -n 1 "$scratch/spans" | python3 -c 'import json,sys; print(json.load(sys.stdin)["grpc"])')"

# http NAME BINARY [VAR=VALUE...]: bench/http.sh against BINARY, each line led by NAME.
http() {
    local name=$1 bin=$2
    shift 2
    env "$@" KNHK_BIN="$bin" "$root/bench/http.sh" | sed "s/^/$name  /"
}

for round in 1 2; do
    echo "== HTTP, round $round"
    http "off           " "$base_target/release/knhk"
    http "metrics       " "$root/target/release/knhk"
    before="$(wc -l <"$scratch/spans")"
    http "metrics+traces" "$root/target/release/knhk" \
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$grpc_port" OTEL_SERVICE_NAME=knhk-bench
    echo "metrics+traces  spans received: $(($(wc -l <"$scratch/spans") - before))"
done

for round in 1 2; do
    echo "== durable engine, round $round"
    (cd "$base" && CARGO_TARGET_DIR="$base_target" \
        cargo bench --quiet -p knhk-runtime --bench durable 2>/dev/null) \
        | grep 'durable seq10' | sed 's/^/off      /'
    (cd "$root" && cargo bench --quiet -p knhk-runtime --bench durable 2>/dev/null) \
        | grep -E 'durable seq10|in memory' | sed 's/^/metrics  /'
done
