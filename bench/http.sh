#!/usr/bin/env bash
# HTTP throughput and latency of the `knhk` service on loopback, measured with oha
# (`cargo install oha`). Builds the release binary, serves it on a fresh data directory
# (the embedded redb store, real fsyncs), registers a one-task specification, then:
#   1. launches cases at saturation (64 connections) and at fixed rates (oha);
#   2. claims work items for an automated worker, one per request, at a fixed rate and at
#      saturation (oha): each claim starts the oldest enabled item and leases it;
#   3. completes the claimed items at saturation with wrk and a Lua script that gives
#      every request a different item (oha picks its URLs at random, which would repeat
#      items), so every request must succeed.
# Prints one line per run: requests/s, p50 and p99 latency, and the status codes.
#
#   bench/http.sh                     everything (about two minutes)
#   SECONDS_PER_RUN=5 bench/http.sh   shorter runs
#   KNHK_BIN=path/to/knhk bench/http.sh
#                                     serve that binary instead of building this tree's
#                                     (bench/observability.sh compares builds); the
#                                     server inherits the environment, OTEL_* included;
#                                     KNHK_LOG_LEVEL (default here: warn) too
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${SECONDS_PER_RUN:-10}"
port="${PORT:-18181}"
url="http://127.0.0.1:$port"
command -v oha >/dev/null || { echo "oha is needed: cargo install oha" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

bin="${KNHK_BIN:-$root/target/release/knhk}"
[ -n "${KNHK_BIN:-}" ] || (cd "$root" && cargo build --release --quiet -p knhk)
data="$(mktemp -d -p "${TMPDIR:-/tmp}")"
scratch="$(mktemp -d)"
KNHK_LISTEN="127.0.0.1:$port" KNHK_STATE_STORE_PATH="$data" KNHK_LOG_LEVEL="${KNHK_LOG_LEVEL:-warn}" \
    "$bin" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data" "$scratch"' EXIT
until curl -sf "$url/ready" >/dev/null; do sleep 0.1; done

curl -sf -X POST "$url/workflows" -H 'Content-Type: application/json' \
    --data-binary "@$root/bench/one-step.json" >/dev/null

# report NAME, then oha's JSON on stdin: one line of figures.
report() {
    python3 -c '
import json, sys
name = sys.argv[1]
r = json.load(sys.stdin)
s, p = r["summary"], r["latencyPercentiles"]
codes = ", ".join(f"{k}: {v}" for k, v in sorted(r["statusCodeDistribution"].items()))
rps, p50, p99 = s["requestsPerSec"], p["p50"] * 1e3, p["p99"] * 1e3
print(f"{name:<34} {rps:>9.0f} req/s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   [{codes}]")
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

# Every case launched so far has its one work item enabled.
cases="$(curl -sf "$url/ready" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cases_in_flight"])')"
fixed=$((seconds * 1000))
saturated=$(((cases - fixed) * 2 / 3))
claim=(-m POST -H 'Content-Type: application/json'
    -d '{"task_id": "step", "worker": "w", "max": 1, "lease_ms": 3600000}')
echo "== work items ($cases cases)"
oha --no-tui --output-format json -n "$fixed" -c 64 -q 1000 "${claim[@]}" "$url/work-items/claim" \
    | report "claim, fixed rate 1000/s"
oha --no-tui --output-format json -n "$saturated" -c 64 "${claim[@]}" "$url/work-items/claim" \
    | report "claim, saturation"

# The claimed items, as the API lists them (paged), one id per line.
python3 - "$url" >"$scratch/claimed" <<'PY'
import json, sys, urllib.request
url, after = sys.argv[1], None
while True:
    query = "worker=w&status=started&limit=1000" + (f"&after={after}" if after else "")
    page = json.load(urllib.request.urlopen(f"{url}/work-items?{query}"))
    for item in page["work_items"]:
        print(item["id"])
    after = page.get("next")
    if not after:
        break
PY
claimed="$(wc -l <"$scratch/claimed")"
echo "claimed: $claimed items (claims that found every nearby item busy return fewer)"

cat >"$scratch/complete.lua" <<'LUA'
-- Thread k of n completes items k, k+n, k+2n, ... of the claimed list; past its end (the
-- run is sized not to get there) it would ask for /health rather than repeat an item.
local counter = 0
function setup(thread)
    counter = counter + 1
    thread:set("first", counter)
end
function init(args)
    step = tonumber(args[1])
    ids = {}
    for line in io.lines(args[2]) do ids[#ids + 1] = line end
    next_index = first
    wrk.headers["Content-Type"] = "application/json"
end
function request()
    local id = ids[next_index]
    next_index = next_index + step
    if id == nil then
        return wrk.format("GET", "/health")
    end
    return wrk.format("POST", "/work-items/" .. id .. "/complete", nil, '{"worker": "w"}')
end
LUA
# Short enough that the list lasts (completes run at about 10k/s here), so that every
# request measured is a complete; wrk reports latency in its own text.
wrk -t 2 -c 64 -d "$((claimed / 20000 + 1))s" --latency -s "$scratch/complete.lua" "$url" \
    -- 2 "$scratch/claimed" \
    | awk -v name="complete, saturation (wrk)" '
        /Requests\/sec/ { rps = $2 }
        /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
        /Non-2xx/ { non2xx = $NF }
        END { printf "%-34s %9.0f req/s   p50 %10s   p99 %10s   [non-2xx: %d]\n", name, rps, p50, p99, non2xx }'
left="$(curl -sf "$url/ready" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cases_in_flight"])')"
echo "cases completed: $((cases - left)) of the $claimed claimed (all 2xx: none refused)"
