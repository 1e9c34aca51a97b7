#!/usr/bin/env bash
# Peer comparison: the same 10-task sequence, one case in flight, in memory and durable
# (every step committed to disk before the next), on
#   knhk           bench/peers/knhk   (the kernel's Case API, release profile)
#   acts 0.25.0    bench/peers/acts   (crates.io `acts`, in-memory store)
#   SpiffWorkflow  bench/peers/spiff  (PyPI SpiffWorkflow 3.2.*, BPMN user tasks)
# Each peer compiles/deploys/parses its model once, then runs cases back to back: start,
# complete every work item (user task, irq act) as it is offered, wait for the end.
# Each engine runs RUNS times (default 2) and the best cases/s is kept, since a busy
# machine only ever slows a run down. Prints two tables (in memory, durable): engine,
# cases/s, knhk/peer. Durable runs use a fresh directory under $TMPDIR each time: knhk's
# redb store (21 commits per case: launch, start and complete of each item) and
# SpiffWorkflow serialized to SQLite with synchronous=FULL (11 commits per case: start,
# and each completed task).
#
#   bench/run-peers.sh                      everything
#   RUNS=3 KNHK_CASES=200000 bench/run-peers.sh
#
# None of the peers is part of the knhk workspace (each has its own [workspace]
# table); their build output stays in bench/peers/*/target and the Python virtual
# environment in bench/peers/spiff/.venv, both ignored by git. A peer that cannot be
# built or installed is reported as such and the others still run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
peers="$here/peers"
runs="${RUNS:-2}"
knhk_cases="${KNHK_CASES:-100000}"
acts_cases="${ACTS_CASES:-500}"
spiff_cases="${SPIFF_CASES:-2000}"
knhk_durable_cases="${KNHK_DURABLE_CASES:-300}"
spiff_durable_cases="${SPIFF_DURABLE_CASES:-200}"
# Each durable run gets a new directory under $scratch (on disk, for real fsyncs).
scratch="$(mktemp -d -p "${TMPDIR:-/tmp}")"
trap 'rm -rf "$scratch"' EXIT
python="${PYTHON:-python3}"

# The figure from a peer's line "... cases/s R ...".
rate() { sed -n 's/.*cases\/s \([0-9.]*\).*/\1/p'; }

# best_of NAME COMMAND...: runs COMMAND $runs times, echoes the best cases/s (nothing
# if every run failed; a failed run is reported and not counted).
best_of() {
    local name="$1" best="" line r
    shift
    for _ in $(seq "$runs"); do
        if ! line="$("$@")"; then
            echo "  $name: run failed (see its error above)" >&2
            continue
        fi
        echo "  $name: $line" >&2
        r="$(rate <<<"$line")"
        [[ -n "$r" ]] || continue
        if [[ -z "$best" ]] || awk -v a="$r" -v b="$best" 'BEGIN { exit !(a > b) }'; then
            best="$r"
        fi
    done
    echo "$best"
}

echo "== machine" >&2
echo "  date:    $(date -u '+%Y-%m-%d %H:%M UTC')" >&2
echo "  cpu:     $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) cores" >&2
echo "  rustc:   $(rustc --version)" >&2
echo "  python:  $("$python" --version 2>&1)" >&2
echo "  load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) before the runs" >&2

echo "== build" >&2
(cd "$peers/knhk" && CARGO_TARGET_DIR="$peers/knhk/target" cargo build --release --quiet)
knhk_bin="$peers/knhk/target/release/knhk-peer-knhk"

acts_bin="$peers/acts/target/release/knhk-peer-acts"
if ! (cd "$peers/acts" && CARGO_TARGET_DIR="$peers/acts/target" cargo build --release --quiet); then
    echo "  acts: build failed, skipped" >&2
    acts_bin=""
fi

venv="$peers/spiff/.venv"
spiff_py=""
if [[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv" >&2; then
    if "$venv/bin/python" -c 'import SpiffWorkflow' 2>/dev/null \
        || "$venv/bin/pip" install --quiet 'SpiffWorkflow==3.2.*' >&2; then
        spiff_py="$venv/bin/python"
    fi
fi
[[ -n "$spiff_py" ]] || echo "  SpiffWorkflow: install failed, skipped" >&2

echo "== run (best of $runs)" >&2
knhk="$(best_of knhk "$knhk_bin" "$knhk_cases")"
[[ -n "$knhk" ]] || { echo "the knhk probe failed: no ratios" >&2; exit 1; }
knhk_durable="$(best_of knhk-durable sh -c '"$0" "$1" --durable "$(mktemp -d -p "$2")"' \
    "$knhk_bin" "$knhk_durable_cases" "$scratch")"
acts=""
[[ -z "$acts_bin" ]] || acts="$(best_of acts "$acts_bin" "$acts_cases")"
spiff=""
spiff_durable=""
spiff_version=""
if [[ -n "$spiff_py" ]]; then
    spiff="$(best_of spiffworkflow "$spiff_py" "$peers/spiff/seq10.py" "$spiff_cases")"
    spiff_durable="$(best_of spiffworkflow-durable \
        sh -c '"$0" "$1" "$2" --durable "$(mktemp -d -p "$3")"' \
        "$spiff_py" "$peers/spiff/seq10.py" "$spiff_durable_cases" "$scratch")"
    spiff_version="$("$spiff_py" -c 'from SpiffWorkflow.version import __version__; print(__version__)')"
fi
echo "  load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) after the runs" >&2

# The table, on stdout.
row() { # engine, cases/s, knhk's cases/s
    if [[ -z "$2" ]]; then
        printf '| %-22s | %12s | %12s |\n' "$1" "n/a" "n/a"
    else
        printf '| %-22s | %12s | %12s |\n' "$1" "$(printf '%.0f' "$2")" \
            "$(awk -v k="$3" -v p="$2" 'BEGIN { printf "%.1f", k / p }')"
    fi
}
echo
echo "10-task sequence, in memory, 1 case in flight (best of $runs runs)"
echo
printf '| %-22s | %12s | %12s |\n' "engine" "cases/s" "knhk/peer"
printf '|%s|%s|%s|\n' "------------------------" "-------------:" "-------------:"
row "knhk (kernel)" "$knhk" "$knhk"
row "acts 0.25.0" "$acts" "$knhk"
row "SpiffWorkflow $spiff_version" "$spiff" "$knhk"
echo
echo "10-task sequence, durable, 1 case in flight (best of $runs runs)"
echo
printf '| %-22s | %12s | %12s |\n' "engine" "cases/s" "knhk/peer"
printf '|%s|%s|%s|\n' "------------------------" "-------------:" "-------------:"
row "knhk (runtime, redb)" "$knhk_durable" "$knhk_durable"
row "SpiffWorkflow + SQLite" "$spiff_durable" "$knhk_durable"
