#!/usr/bin/env bash
# Schemathesis against the live server: the OpenAPI document (GET /openapi.json) must
# describe exactly what the server answers. Three runs on two fresh servers, each with
# a temporary data directory on a free loopback port and seeded with a few
# specifications and cases (so that ids exist); every run with every check of
# Schemathesis and a fixed seed:
#
#   open    no tokens file: the API is open (.ci/schemathesis/open.toml)
#   tokens  a tokens file and an admin's token (.ci/schemathesis/tokens.toml), so that
#           the 401 answers are exercised
#   reader  the same server with a reader's token (.ci/schemathesis/reader.toml), so
#           that the 403 answers are exercised
#
# Each also reads .ci/schemathesis/common.toml, where the seed, the dictionaries of
# seeded ids and the per-operation settings are.
#
# Any failure fails the script. Needs `schemathesis` (.ci/requirements.txt), `curl` and
# `python3`; uses target/debug/knhk (built if missing; KNHK_BIN overrides).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bin=${KNHK_BIN:-$root/target/debug/knhk}
if [[ ! -x $bin ]]; then
    cargo build -p knhk --locked
fi
command -v schemathesis >/dev/null || {
    echo "schemathesis.sh: schemathesis is not installed (pip install -r .ci/requirements.txt)" >&2
    exit 2
}

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

# A port nothing listens on now (the kernel's choice for port 0).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Sets `url` to a fresh server's, started with the extra environment "$@" and its own
# data directory, once it is ready.
start_server() {
    local name=$1
    shift
    mkdir -p "$work/$name"
    local address
    address=127.0.0.1:$(free_port)
    env -i PATH="$PATH" KNHK_LISTEN="$address" KNHK_STATE_STORE_PATH="$work/$name/data" \
        KNHK_LOG_LEVEL=warn "$@" "$bin" >"$work/$name/server.log" 2>&1 &
    pids+=($!)
    url=http://$address
    server_log=$work/$name/server.log
    for _ in $(seq 600); do
        if [[ $(curl -s -o /dev/null -w '%{http_code}' "$url/ready") == 200 ]]; then
            return
        fi
        sleep 0.1
    done
    echo "schemathesis.sh: the $name server never got ready:" >&2
    cat "$work/$name/server.log" >&2
    exit 1
}

# `call METHOD PATH [JSON]`: the request (with `auth`'s header, if set) must succeed.
call() {
    local args=(-sS -X "$1" -o /dev/null -w '%{http_code}' "$url$2")
    [[ -n ${auth:-} ]] && args+=(-H "Authorization: Bearer $auth")
    [[ $# -ge 3 ]] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
    local status
    status=$(curl "${args[@]}")
    if [[ $status != 2* ]]; then
        echo "schemathesis.sh: seeding: $1 $2 answered $status" >&2
        exit 1
    fi
}

register() {
    call POST /workflows "{\"spec\": $(cat "$root/examples/$1")}"
}

# Specifications and cases in every state the seeding can reach, so that the ids in
# the configuration's dictionaries exist (case ids and work item numbers are assigned in
# order, so they are the same on every run).
seed() {
    register simple-sequence.json
    register order-fulfilment.json
    register patterns/wcp_15_mi_without_a_priori_run_time_knowledge.json
    register patterns/wcp_24_persistent_trigger.json
    local simple='{"spec_id": "simple-sequence"}'
    call POST /cases "$simple"                 # 1: running, 1-1 enabled
    call POST /cases "$simple"                 # 2: running, 2-1 started
    call POST /work-items/2-1/start '{}'
    call POST /cases "$simple"                 # 3: completed
    call POST /work-items/3-1/start '{}'
    call POST /work-items/3-1/complete '{"data": {"checked": true}}'
    call POST /work-items/3-2/start '{}'
    call POST /work-items/3-2/complete '{}'
    call POST /cases "$simple"                 # 4: cancelled
    call POST /cases/4/cancel
    call POST /cases "$simple"                 # 5: suspended
    call POST /cases/5/suspend
    call POST /cases "$simple"                 # 6: failed
    call POST /work-items/6-1/start '{}'
    call POST /work-items/6-1/fail '{"message": "seeded"}'
    call POST /cases "$simple"                 # 7: running, 7-1 offered
    call POST /work-items/7-1/offer '{"participants": ["alice", "bob"]}'
    call POST /cases "$simple"                 # 8: running, 8-1 allocated
    call POST /work-items/8-1/allocate '{"participant": "alice"}'
    call POST /cases '{"spec_id": "order-fulfilment", "data": {"order": {"customer": "Ada"}, "items": [1], "total": 5}}' # 9
    call POST /cases '{"spec_id": "wcp-15-mi-without-a-priori-run-time-knowledge"}' # 10
    call POST /work-items/10-1/start '{}'
    call POST /work-items/10-1/complete '{"data": {"items": [1, 2]}}'
    call POST /work-items/10-2/start '{}'     # busy: 10-2 started, 10-3 enabled
    call POST /cases '{"spec_id": "wcp-24-persistent-trigger"}' # 11
    call POST /cases/11/signals/truck_arrived
}

# `run NAME`: Schemathesis on the server at `url`, configured by common.toml followed by
# NAME.toml (which enable every check and say why any is configured otherwise).
run() {
    local started=$SECONDS
    echo "== schemathesis ($1): $url"
    cat "$root/.ci/schemathesis/common.toml" "$root/.ci/schemathesis/$1.toml" >"$work/$1.toml"
    # Schemathesis leaves out the operation that serves the schema (GET /openapi.json)
    # unless told to select every path: it is tested like the others.
    local args=(--config-file "$work/$1.toml" run "$url/openapi.json"
        --include-path-regex '^/' --no-color)
    [[ -n ${auth:-} ]] && args+=(-H "Authorization: Bearer $auth")
    if ! schemathesis "${args[@]}" | tee "$work/$1.out"; then
        echo "schemathesis.sh: the $1 run failed; server log:" >&2
        tail -n 50 "$server_log" >&2
        exit 1
    fi
    # "N generated, N passed[, N skipped]": the test cases this run sent.
    local cases
    cases=$(sed -n 's/^ *[0-9]* generated, \([0-9]*\) passed.*/\1/p' "$work/$1.out" | tail -n 1)
    passed=$((passed + ${cases:-0}))
    echo "== schemathesis ($1): passed in $((SECONDS - started)) s"
}

passed=0

auth=
start_server open
seed
run open

# `token ROLE`: a token of ROLE, whose entry goes into the tokens file (which holds only
# its hash, as `knhk token new` writes it). The token is fixed, not random: Schemathesis
# sends it with every request, and a different one each run made the runs differ. It
# opens only this throwaway server on loopback.
token() {
    local token=knhk_schemathesis_$1_0123456789abcdef0123456789abcdef
    local hash
    hash=$(printf %s "$token" | sha256sum | cut -d' ' -f1)
    printf '[[token]]\nidentity = "ci-%s"\nrole = "%s"\nsha256 = "%s"\n' "$1" "$1" "$hash" \
        >>"$work/tokens.toml"
    echo "$token"
}

# An admin's token, so that every operation is allowed; the run's probes without it and
# with a wrong one check the 401s. Then, on the same server, a reader's, so that every
# operation that changes something answers 403.
admin=$(token admin)
reader=$(token reader)
chmod 600 "$work/tokens.toml"
auth=$admin
start_server tokens KNHK_API_TOKENS_FILE="$work/tokens.toml"
seed
run tokens
auth=$reader
run reader

# The plain closing line CI reads: test cases sent and passed, over every run.
echo "schemathesis: $passed passed, 0 failed"
