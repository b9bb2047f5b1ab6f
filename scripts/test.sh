#!/usr/bin/env bash
# Runs every check and test of the project: the one test command (README, "Run the tests").
# Usage: scripts/test.sh    (from anywhere; it works in the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"

step() { printf '\n==> %s\n' "$*"; }
results=$(mktemp)
trap 'rm -f "$results"' EXIT
elapsed() { printf '    (%s s)\n' "$(( $(date +%s) - $1 ))"; }

# The official clients, pinned, into folders that git ignores. Missing tools fail the run.
step "install the Python client (interop/python/requirements.txt) into .venv"
t=$(date +%s)
command -v python3 >/dev/null || { echo "error: python3 is needed for the Python client tests" >&2; exit 1; }
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r interop/python/requirements.txt
elapsed "$t"

step "install the JS client (interop/js/package-lock.json) into interop/js/node_modules"
t=$(date +%s)
command -v node >/dev/null && command -v npm >/dev/null || { echo "error: node and npm are needed for the JS client tests" >&2; exit 1; }
(cd interop/js && npm ci --no-audit --no-fund --loglevel=error)
elapsed "$t"

# A real redis-server for the Redis backend's tests (they start their own, on a free port).
step "redis-server (Debian's package when missing)"
if ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get install -y -qq redis-server >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq redis-server >/dev/null; })
  else
    echo "error: redis-server is needed for the Redis backend tests: install Debian's redis-server (as root: apt-get install redis-server)" >&2
    exit 1
  fi
fi
redis-server --version

# Debian's Chromium for the dashboard's browser test (Playwright drives it).
step "chromium (Debian's package when missing)"
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; })
  else
    echo "error: chromium is needed for the dashboard test: install Debian's chromium (as root: apt-get install chromium)" >&2
    exit 1
  fi
fi
/usr/bin/chromium --version

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --workspace --all-targets --all-features -- -D warnings"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo test (unit, integration, examples, README doctests)"
cargo test --all-features 2>&1 | tee -a "$results"

step "official clients: Python gradio_client, JS @gradio/client, Rust gradio (interop/)"
t=$(date +%s)
cargo test -p gradio-compat-interop 2>&1 | tee -a "$results"
elapsed "$t"

step "cargo doc --no-deps with -D warnings"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --all-features

step "all checks passed"
# One closing line over every cargo test binary above.
awk '/^test result:/ { p += $4; f += $6 } END { printf "Total: %d passed, %d failed\n", p, f }' "$results"
