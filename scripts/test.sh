#!/usr/bin/env bash
# Runs every check and test of the project: the one test command (README, "Run the tests").
# Usage: scripts/test.sh    (from anywhere; it works in the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"

if [ ! -d ../shared/protocol/transcripts ]; then
  echo "error: ../shared/protocol/transcripts is missing; the conformance tests need it beside the repository" >&2
  exit 1
fi

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets --all-features -- -D warnings"
cargo clippy --all-targets --all-features -- -D warnings

step "cargo test (unit, integration, examples, README doctests)"
cargo test --all-features

step "cargo doc --no-deps with -D warnings"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --all-features

step "all checks passed"
