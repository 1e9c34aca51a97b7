#!/usr/bin/env bash
# What the tests need besides Rust, installed on a fresh Debian machine (as root, or
# with what is already there): the Debian packages, and the Python packages of
# .ci/requirements.txt in a virtual environment of the checkout's own, `.venv/`, so that
# the machine's Python is left alone. The README's test command runs it first; running
# it again installs nothing new.
#
#   curl, tar, unshare   the service tests (quick start, backups, a full disk)
#   prometheus           the metrics tests scrape the live service with a real Prometheus,
#                        and promtool checks the alert rules
#   python3-venv         .venv: Schemathesis (.ci/schemathesis.sh), PM4Py (XES), and an
#                        OTLP receiver (grpcio + opentelemetry-proto) for the trace tests
#
# Tests find the virtual environment's Python as `.venv/bin/python3`, or where
# KNHK_TEST_PYTHON says.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in curl tar unshare prometheus promtool; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing Debian packages for: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl tar util-linux prometheus \
        python3 python3-venv >/dev/null
fi

if [ ! -x .venv/bin/python3 ]; then
    python3 -m venv .venv
fi
# pip compares the pins with what is installed and downloads nothing when they match.
.venv/bin/pip install --quiet --disable-pip-version-check -r .ci/requirements.txt
