#!/usr/bin/env bash
# The test command (`make test`): lint gates, then the whole workspace's tests against a
# real local platform in the `test` profile, started here (or reused) and stopped at the
# end unless SANXIANG_KEEP_PLATFORM=1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

log() { printf '[test %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
start=$SECONDS
export SANXIANG_PROFILE="${SANXIANG_PROFILE:-test}"

log "lint: cargo fmt --check"
cargo fmt --all --check
log "generated files: cargo xtask generate --check"
cargo xtask generate --check
log "lint: cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --locked --quiet -- -D warnings

log "building binaries and tests"
# End-to-end tests run the real binaries (operator, tenant service), not in-process copies.
cargo build --workspace --bins --locked --quiet
cargo test --workspace --locked --no-run --quiet

log "starting the test platform"
cargo run --quiet --locked -p sanxiang-local --bin sanxiang-local -- up --profile "$SANXIANG_PROFILE" >/dev/null
if [[ ${SANXIANG_KEEP_PLATFORM:-0} != 1 ]]; then
	trap 'cargo run --quiet -p sanxiang-local --bin sanxiang-local -- purge --profile "$SANXIANG_PROFILE" >/dev/null 2>&1 || true' EXIT
fi

log "running tests"
cargo test --workspace --locked --no-fail-fast -- --test-threads="${SANXIANG_TEST_THREADS:-4}"
log "all tests passed in $((SECONDS - start))s"
