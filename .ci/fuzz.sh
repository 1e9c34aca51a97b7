#!/usr/bin/env bash
# CI: build every fuzz target in fuzz/ once, then run each for a fixed time; a crash, a
# timeout or running out of memory fails the step. fuzz/README.md says what each target
# checks; docs/SECURITY.md ("Fuzzing") has the long runs and how to reproduce them.
#
#   .ci/fuzz.sh                 every target, KNHK_FUZZ_SECONDS (default 25) each
#   .ci/fuzz.sh expr spec_yawl  only these targets
#
# Environment:
#   KNHK_FUZZ_SECONDS  seconds per target (default 25)
#   KNHK_FUZZ_RUNS     stop a target after this many inputs, if sooner (default: no limit);
#                      the long runs of docs/SECURITY.md are
#                      KNHK_FUZZ_SECONDS=900 KNHK_FUZZ_RUNS=1000000 .ci/fuzz.sh
#   KNHK_FUZZ_SEED     libFuzzer's seed (default 1; 0 lets libFuzzer pick one). A fixed
#                      seed makes a run on an unchanged tree explore the same inputs first,
#                      so CI does not fail at random on a tree that passed; a crash is
#                      reproduced from the input libFuzzer saves, whatever the seed.
#
# The toolchain is stable (1.95) and no nightly can be fetched here: the targets are built
# with `--sanitizer none`, which needs no unstable flag (AddressSanitizer would need
# RUSTC_BOOTSTRAP=1; the code under test has no unsafe code, so it adds little). cargo
# fuzz builds in release mode with debug assertions and overflow checks on.
#
# Besides each target's seeds (fuzz/seeds/<target>/, committed), the specification targets
# read the repository's examples and, when the shared directory is beside the checkout
# (../shared, as in CI), its Turtle examples and YAWL corpus, in place. New inputs go to
# fuzz/corpus/<target>/ (not committed) and crashes to fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# cargo-fuzz's newest release, which builds with Rust 1.95 (its install takes about 30 s here).
cargo_fuzz_version=0.13.2
seconds=${KNHK_FUZZ_SECONDS:-25}
seed=${KNHK_FUZZ_SEED:-1}
runs_max=${KNHK_FUZZ_RUNS:--1}
shared=$(cd "$root/.." && pwd)/shared

if ! cargo fuzz --version 2>/dev/null | grep -qF "$cargo_fuzz_version"; then
    cargo install cargo-fuzz --locked --version "$cargo_fuzz_version"
fi

cd fuzz
# The lock file is committed: refuse to build with anything else.
cargo fetch --locked --quiet
started=$SECONDS
cargo fuzz build --sanitizer none
echo "fuzz: built every target in $((SECONDS - started)) s"
bin=${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi

summary=()
for target in "${targets[@]}"; do
    inputs=("seeds/$target")
    options=(-max_len=8192)
    case $target in
        spec_json)
            inputs+=("$root/examples")
            options=(-max_len=32768 -dict=dict/json.dict)
            ;;
        spec_turtle)
            [ -d "$shared/knhk-examples" ] && inputs+=("$shared/knhk-examples")
            options=(-max_len=32768 -dict=dict/turtle.dict)
            ;;
        spec_yawl)
            [ -d "$shared/yawl-specs" ] && inputs+=("$shared/yawl-specs")
            options=(-max_len=32768 -dict=dict/yawl.dict)
            ;;
        expr)
            options+=(-dict=dict/cel.dict)
            ;;
    esac
    mkdir -p "corpus/$target" "artifacts/$target"
    log=$(mktemp)
    echo "fuzz: $target for ${seconds} s"
    if ! "$bin/$target" "corpus/$target" "${inputs[@]}" "${options[@]}" \
        -max_total_time="$seconds" -runs="$runs_max" -seed="$seed" -timeout=20 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="artifacts/$target/" >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz: $target failed; the input is in fuzz/artifacts/$target/." >&2
        echo "fuzz: reproduce with: cd fuzz && $bin/$target artifacts/$target/<file>" >&2
        exit 1
    fi
    stat() { sed -n "s/^stat::$1: *//p" "$log"; }
    done_line=$(grep -o 'DONE .*' "$log" | tail -n 1)
    field() { echo "$done_line" | grep -o "$1: [^ ]*" | cut -d' ' -f2; }
    line=$(printf '%-14s %9s runs %6s/s  cov %6s  ft %6s  corpus %s  rss %s' "$target" \
        "$(stat number_of_executed_units)" "$(stat average_exec_per_sec)" "$(field cov)" \
        "$(field ft)" "$(field corp)" "$(field rss)")
    echo "fuzz: $line"
    summary+=("$line")
    rm -f "$log"
done
printf 'fuzz: summary: %s\n' "${summary[@]}"
echo "fuzz: done in $((SECONDS - started)) s (build included)"
