#!/usr/bin/env bash
# HTTP throughput and latency of the `knhk` service on loopback, measured with oha
# (`cargo install oha`). Builds the release binary, serves it on a fresh data directory
# (the embedded redb store, real fsyncs), registers a one-task specification, then:
#   1. launches cases at saturation (64 connections) and at fixed rates;
#   2. starts, then completes, the work item of every case launched, at saturation and
#      at a fixed rate: each request names a different item, so every one must succeed.
# Prints one line per run: requests/s, p50 and p99 latency, and the status codes.
#
#   bench/http.sh                     everything (about two minutes)
#   SECONDS_PER_RUN=5 bench/http.sh   shorter runs
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${SECONDS_PER_RUN:-10}"
port="${PORT:-18181}"
url="http://127.0.0.1:$port"
command -v oha >/dev/null || { echo "oha is needed: cargo install oha" >&2; exit 1; }

(cd "$root" && cargo build --release --quiet -p knhk)
data="$(mktemp -d -p "${TMPDIR:-/tmp}")"
scratch="$(mktemp -d)"
KNHK_LISTEN="127.0.0.1:$port" KNHK_STATE_STORE_PATH="$data" KNHK_LOG_LEVEL=warn \
    "$root/target/release/knhk" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data" "$scratch"' EXIT
until curl -sf "$url/ready" >/dev/null; do sleep 0.1; done

curl -sf -X POST "$url/workflows" -H 'Content-Type: application/json' -d '{"spec": {
  "id": "one-step", "root_net": "main",
  "nets": [{"id": "main", "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
            "tasks": [{"id": "step", "kind": "atomic"}],
            "flows": [{"from": "i", "to": "step"}, {"from": "step", "to": "o"}]}]}}' >/dev/null

# report NAME, then oha's JSON on stdin: one line of figures.
report() {
    python3 -c '
import json, sys
name = sys.argv[1]
r = json.load(sys.stdin)
s, p = r["summary"], r["latencyPercentiles"]
codes = ", ".join(f"{k}: {v}" for k, v in sorted(r["statusCodeDistribution"].items()))
print(f"{name:<34} {s[\"requestsPerSec\"]:>9.0f} req/s   p50 {p[\"p50\"]*1e3:7.2f} ms   p99 {p[\"p99\"]*1e3:7.2f} ms   [{codes}]")
' "$1"
}

launch=(-m POST -H 'Content-Type: application/json' -d '{"spec_id": "one-step"}')
echo "== launch cases (POST /cases)"
oha --no-tui --output-format json -z "${seconds}s" -c 64 "${launch[@]}" "$url/cases" \
    | report "saturation, 64 connections"
for rate in 200 1000; do
    oha --no-tui --output-format json -z "${seconds}s" -c 64 -q "$rate" "${launch[@]}" "$url/cases" \
        | report "fixed rate $rate/s"
done

# Every case launched so far has its one work item `N-1` enabled.
cases="$(curl -sf "$url/ready" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cases_in_flight"])')"
for verb in start complete; do
    seq 1 "$cases" | sed "s|.*|$url/work-items/&-1/$verb|" >"$scratch/$verb"
done
fixed=$((cases / 4))
echo "== work items ($cases cases)"
head -n "$fixed" "$scratch/start" >"$scratch/start-fixed"
tail -n +"$((fixed + 1))" "$scratch/start" >"$scratch/start-rest"
oha --no-tui --output-format json -n "$fixed" -c 64 -q 1000 -m POST --urls-from-file "$scratch/start-fixed" \
    | report "start, fixed rate 1000/s"
oha --no-tui --output-format json -n "$((cases - fixed))" -c 64 -m POST --urls-from-file "$scratch/start-rest" \
    | report "start, saturation"
oha --no-tui --output-format json -n "$cases" -c 64 -m POST --urls-from-file "$scratch/complete" \
    | report "complete, saturation"
