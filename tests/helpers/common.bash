# Shared setup and assertions for the bats suites (no external bats libraries).
#
# Every test gets its own temp dir ($TEST_TMP) and the freshly built tools
# first on PATH. KV_BUILD points at the build directory (make sets it).
# The assertions read bats' $status and $output; the start_* helpers set
# variables for the tests that call them.
# shellcheck disable=SC2154,SC2034

export LC_ALL=C
bats_require_minimum_version 1.5.0
KV_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KV_BUILD="${KV_BUILD:-$KV_ROOT/build}"
export PATH="$KV_BUILD/bin:$PATH"
# Debian's python3, which has python3-prometheus-client (not a pyenv one).
PYTHON3=/usr/bin/python3

common_setup() {
  TEST_TMP="$(mktemp -d "${BATS_TMPDIR:-/tmp}/kv-test.XXXXXX")"
}

common_teardown() {
  [ -n "${TEST_TMP:-}" ] && rm -rf "$TEST_TMP"
}

flunk() {
  { if [ $# -eq 0 ]; then cat -; else echo "$@"; fi; } >&2
  return 1
}

assert_success() {
  if [ "$status" -ne 0 ]; then
    flunk "expected success, got status $status" $'\n'"output: $output"
  fi
}

assert_status() {
  if [ "$status" -ne "$1" ]; then
    flunk "expected status $1, got $status" $'\n'"output: $output"
  fi
}

assert_output() {
  local expected="${1-$(cat -)}"
  if [ "$output" != "$expected" ]; then
    flunk "output differs:"$'\n'"$(diff -u <(printf '%s\n' "$expected") <(printf '%s\n' "$output"))"
  fi
}

assert_output_contains() {
  if [[ "$output" != *"$1"* ]]; then
    flunk "output does not contain: $1"$'\n'"output: $output"
  fi
}

refute_output_contains() {
  if [[ "$output" == *"$1"* ]]; then
    flunk "output contains: $1"$'\n'"output: $output"
  fi
}

assert_file_equals() {  # expected actual
  if ! diff -u "$1" "$2" >&2; then
    flunk "files differ: $1 $2"
  fi
}

# promtool check metrics on stdin, forgiving only its "_total" lint on
# KubeVirt's counters whose names lack it (the catalog's counter rows not
# named *_total), which KubeVirt exposes so and the kubevirt config keeps.
promtool_check_metrics() {
  local out status odd
  out="$(promtool check metrics 2>&1)" && return 0
  status=$?
  odd="$(sed -n 's/^KV_METRIC(\([a-z0-9_]*\), counter,.*/\1/p' "$KV_ROOT/common/metric_catalog.def" | grep -v '_total$' |
    sed 's/$/ counter metrics should have "_total" suffix/')"
  if [ "$status" -ne 3 ] || grep -qvxF "$odd" <<<"$out"; then
    printf '%s\n' "$out" >&2
    return "$status"
  fi
}

# A free TCP port on 127.0.0.1 (the kernel picks one; tiny race accepted).
free_port() {
  "$PYTHON3" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits until a command succeeds, up to N tenths of a second.
wait_for() {
  local tries="$1"; shift
  local i
  for ((i = 0; i < tries; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  flunk "timed out waiting for: $*"
}

# Starts kv-promfmt --listen on a kernel-picked port reading from a FIFO that
# this shell keeps open; sets PROMFMT_PID, PROMFMT_PORT, PROMFMT_IN (fd 7
# writes to it). Extra arguments go to kv-promfmt.
start_promfmt_server() {
  local fifo="$TEST_TMP/in.fifo"
  mkfifo "$fifo"
  kv-promfmt --listen 127.0.0.1:0 "$@" "$fifo" 2>"$TEST_TMP/promfmt.log" &
  PROMFMT_PID=$!
  exec 7>"$fifo"
  PROMFMT_IN="$fifo"
  wait_for 50 grep -q 'listening on' "$TEST_TMP/promfmt.log"
  PROMFMT_PORT="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TEST_TMP/promfmt.log" | head -n1)"
}

stop_promfmt_server() {
  exec 7>&- 2>/dev/null || true
  if [ -n "${PROMFMT_PID:-}" ]; then
    kill "$PROMFMT_PID" 2>/dev/null || true
    wait "$PROMFMT_PID" 2>/dev/null || true
    PROMFMT_PID=
  fi
}
