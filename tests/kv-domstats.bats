#!/usr/bin/env bats
# kv-domstats on the command line, without libvirt: flags, usage errors,
# exit statuses, replay, and an unreachable source.

setup() {
  load helpers/common
  common_setup
}

teardown() {
  [ -z "${SILENT_PID:-}" ] || kill "$SILENT_PID" 2>/dev/null || true
  [ -z "${DOMSTATS_PID:-}" ] || kill -KILL "$DOMSTATS_PID" 2>/dev/null || true
  common_teardown
}

# A unix socket that accepts connections and never answers: a hung libvirtd.
silent_socket() {  # PATH
  "$PYTHON3" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' "$1" &
  SILENT_PID=$!
  wait_for 50 test -S "$1"
}

@test "kv-domstats: --help on stdout with status 0; --version names libvirt" {
  run kv-domstats --help
  assert_success
  assert_output_contains "--socket-glob PATTERN"
  assert_output_contains "--guest-agent-timeout DURATION"
  assert_output_contains "--dirty-rate-interval DURATION"
  assert_output_contains "--domain-log TEMPLATE"
  run kv-domstats --version
  assert_success
  [[ "$output" =~ ^kv-domstats\ .+\ \(libvirt\ [0-9]+\.[0-9]+\.[0-9]+\)$ ]] || flunk "$output"
}

@test "kv-domstats: usage errors exit 2 with the reason" {
  run --separate-stderr kv-domstats --interval soon
  assert_status 2
  [[ "$stderr" == *'--interval: "soon" is not a positive duration'* ]] || flunk "$stderr"
  run --separate-stderr kv-domstats --timeout 0
  assert_status 2
  run --separate-stderr kv-domstats --keep-ephemeral x
  assert_status 2
  run --separate-stderr kv-domstats --max-in-flight 0
  assert_status 2
  run --separate-stderr kv-domstats --guest-agent --guest-agent-timeout 0
  assert_status 2
  [[ "$stderr" == *'--guest-agent-timeout: "0" is not a positive duration'* ]] || flunk "$stderr"
  run --separate-stderr kv-domstats --guest-agent --guest-agent-interval often
  assert_status 2
  [[ "$stderr" == *'--guest-agent-interval: "often" is not a positive duration'* ]] || flunk "$stderr"
  run --separate-stderr kv-domstats --dirty-rate --dirty-rate-interval 0
  assert_status 2
  [[ "$stderr" == *'--dirty-rate-interval: "0" is not a positive duration'* ]] || flunk "$stderr"
  run --separate-stderr kv-domstats --keep-panics forever
  assert_status 2
  [[ "$stderr" == *'--keep-panics: "forever" is not a duration'* ]] || flunk "$stderr"
  run --separate-stderr kv-domstats --interval 1.5s
  assert_status 2
  [[ "$stderr" == *'"1.5s" is not a positive duration (whole numbers with a unit of ms, s, m, h or d'* ]] || flunk "$stderr"
  run --separate-stderr kv-domstats --once --interval 5s
  assert_status 2
  [[ "$stderr" == *'--once and --interval exclude each other'* ]] || flunk "$stderr"
  run --separate-stderr kv-domstats --uri ''
  assert_status 2
  [[ "$stderr" == *'--uri: the URI is empty'* ]] || flunk "$stderr"
  run --separate-stderr kv-domstats --uri a b
  assert_status 2
  run --separate-stderr kv-domstats --socket-glob ''
  assert_status 2
  [[ "$stderr" == *'--socket-glob: the pattern is empty'* ]] || flunk "$stderr"
  run --separate-stderr kv-domstats --socket-glob '/x/*' --socket-uri 'qemu+unix:///session'
  assert_status 2
  [[ "$stderr" == *'--socket-uri: "qemu+unix:///session" has no {} for the socket path'* ]] || flunk "$stderr"
  run --separate-stderr kv-domstats --node ''
  assert_status 2
  [[ "$stderr" == *'--node: the node name is empty'* ]] || flunk "$stderr"
}

@test "kv-domstats --socket-glob: only sockets are sources; every pattern's matches are logged; it is repeatable" {
  mkdir -p "$TEST_TMP/pods/a" "$TEST_TMP/pods/b" "$TEST_TMP/pods/c"
  : >"$TEST_TMP/pods/a/sock"            # a regular file
  mkdir "$TEST_TMP/pods/b/sock"         # a directory
  silent_socket "$TEST_TMP/pods/c/sock"
  kill "$SILENT_PID"                    # the socket file stays: nobody listens
  run --separate-stderr kv-domstats --once --node n1 --socket-glob "$TEST_TMP/pods/*/sock" \
    --socket-glob "$TEST_TMP/none/*/sock"
  assert_success  # the one source cannot be read: data, not a failure
  [[ "$stderr" == *"--socket-glob $TEST_TMP/pods/*/sock: 1 socket"* ]] || flunk "$stderr"
  [[ "$stderr" == *"--socket-glob $TEST_TMP/none/*/sock: 0 sockets"* ]] || flunk "$stderr"
  [ "$(printf '%s\n' "$output" | grep -c '"kv_domstats_source_up"')" -eq 1 ] || flunk "$output"
  assert_output_contains "socket=$TEST_TMP/pods/c/sock"
  # No socket at all: nothing to read is no failure.
  run --separate-stderr kv-domstats --once --node n1 --socket-glob "$TEST_TMP/none/*/sock"
  assert_success
  assert_output_contains '"kv_domstats_cycle_duration_seconds"'
}

@test "kv-domstats: SIGTERM ends it at once while a read hangs in libvirt, --once and --interval" {
  silent_socket "$TEST_TMP/silent"
  for mode in --once "--interval 30s"; do
    # shellcheck disable=SC2086  # the mode is two words
    kv-domstats $mode --timeout 60s --node n1 --uri "qemu+unix:///session?socket=$TEST_TMP/silent" \
      >"$TEST_TMP/out" 2>"$TEST_TMP/err" &
    DOMSTATS_PID=$!
    sleep 1  # connecting, and stuck there
    kill -TERM "$DOMSTATS_PID"
    # Far less than the 60 s the cycle would otherwise wait.
    wait_for 100 bash -c "! kill -0 $DOMSTATS_PID 2>/dev/null" || flunk "$mode: still running after SIGTERM"
    local rc=0
    wait "$DOMSTATS_PID" || rc=$?
    [ "$rc" -eq 0 ] || flunk "$mode: exit status $rc: $(cat "$TEST_TMP/err")"
    grep -q 'received a signal, exiting' "$TEST_TMP/err" || flunk "$(cat "$TEST_TMP/err")"
  done
}

@test "kv-domstats --replay: a directory is an error, not an empty recording" {
  run --separate-stderr kv-domstats --replay "$TEST_TMP"
  assert_status 1
  [[ "$stderr" == *"$TEST_TMP is a directory, not a recording"* ]] || flunk "$stderr"
}

@test "kv-domstats: an unreachable source is data, not a failure" {
  run --separate-stderr kv-domstats --once --uri "qemu+unix:///session?socket=$TEST_TMP/none" --node n1
  assert_success
  [[ "$stderr" == *"cannot connect to qemu+unix:///session?socket=$TEST_TMP/none"* ]] || flunk "$stderr"
  printf '%s\n' "$output" | kv-promfmt >"$TEST_TMP/out.prom"
  grep -qx "kv_domstats_source_up{source=\"qemu+unix:///session?socket=$TEST_TMP/none\"} 0" "$TEST_TMP/out.prom"
  grep -qx "kv_domstats_source_errors_total{source=\"qemu+unix:///session?socket=$TEST_TMP/none\"} 1" "$TEST_TMP/out.prom"
  promtool check metrics <"$TEST_TMP/out.prom"
}

@test "kv-domstats: --raw of a replay gives back the recording, guest-agent values, crashes, hosts and dirty rates included" {
  local case rec
  for case in replay-mapping replay-guest-agent replay-panics replay-recorded-dirty-rate replay-recorded-panic; do
    rec="$KV_ROOT/tests/cases/kv-domstats/$case/recording.ndjson"
    run kv-domstats --replay "$rec" --raw
    assert_success
    # Same records, in the domain order kv-domstats writes (sorted by name).
    diff <(printf '%s\n' "$output" | jq -cS . | sort) <(jq -cS . "$rec" | sort)
  done
}

@test "kv-domstats: a malformed guest part of a recording is an error with file and line" {
  printf '%s\n' '{"domain":"default_vm1","guest":{"filesystems":{}}}' >"$TEST_TMP/bad.ndjson"
  run --separate-stderr kv-domstats --replay "$TEST_TMP/bad.ndjson"
  assert_status 1
  [[ "$stderr" == *"$TEST_TMP/bad.ndjson:1: the filesystems must be an array"* ]] || flunk "$stderr"
  printf '%s\n' '{"domain":"default_vm1","guest":{"load":{"load1m":"high"}}}' >"$TEST_TMP/bad.ndjson"
  run --separate-stderr kv-domstats --replay "$TEST_TMP/bad.ndjson"
  assert_status 1
  [[ "$stderr" == *"$TEST_TMP/bad.ndjson:1: \"load1m\" must be a number"* ]] || flunk "$stderr"
}

@test "kv-domstats: a malformed crash or host line of a recording is an error with file and line" {
  printf '%s\n' '{"event":"crashed","detail":"panicked","domain":"default_vm1","id":"one"}' >"$TEST_TMP/bad.ndjson"
  run --separate-stderr kv-domstats --replay "$TEST_TMP/bad.ndjson"
  assert_status 1
  [[ "$stderr" == *"$TEST_TMP/bad.ndjson:1: \"id\" must be an integer"* ]] || flunk "$stderr"
  printf '%s\n' '{"end":"kv-domstats-raw"}' '{"host":"qemu:///system","deprecated_machine_types":"pc"}' >"$TEST_TMP/bad.ndjson"
  run --separate-stderr kv-domstats --replay "$TEST_TMP/bad.ndjson"
  assert_status 1
  [[ "$stderr" == *"$TEST_TMP/bad.ndjson:2: \"deprecated_machine_types\" must be an array of names"* ]] || flunk "$stderr"
}

@test "kv-domstats: a replay counts panics across cycles: PANICKED once per run, CRASHLOADED every time, kept while the VM is gone" {
  # Made by hand, as tests/cases/kv-domstats/replay-panics: three cycles.
  local src='qemu+unix:///session?socket=/pods/a1/volumes/kubernetes.io~empty-dir/libvirt-runtime/virtqemud-sock'
  local hv="hyper-v: arg1='0x9f', arg2='0x3', arg3='0x0', arg4='0x0', arg5='0x0'"
  jq -nc --arg s "$src" --arg hv "$hv" '
    {source: $s, domain: "default_win1", uuid: "u-win1", stats: {"cpu.time": 1}, memory: {}, aliases: {}},
    {event: "crashed", detail: "crashloaded", source: $s, domain: "default_win1", uuid: "u-win1", id: 1, panic: $hv},
    {event: "crashed", detail: "panicked", source: $s, domain: "default_lin1", uuid: "u-lin1", id: 1},
    {end: "kv-domstats-raw"},
    {source: $s, domain: "default_win1", uuid: "u-win1", stats: {"cpu.time": 2}, memory: {}, aliases: {}},
    {event: "crashed", detail: "crashloaded", source: $s, domain: "default_win1", uuid: "u-win1", id: 1, panic: $hv},
    {event: "crashed", detail: "panicked", source: $s, domain: "default_lin1", uuid: "u-lin1", id: 1},
    {end: "kv-domstats-raw"},
    {source: $s, domain: "default_win1", uuid: "u-win1", stats: {"cpu.time": 3}, memory: {}, aliases: {}},
    {event: "crashed", detail: "panicked", source: $s, domain: "default_lin1", uuid: "u-lin1", id: 2},
    {end: "kv-domstats-raw"}' >"$TEST_TMP/rec.ndjson"
  kv-domstats --replay "$TEST_TMP/rec.ndjson" --node node01 >"$TEST_TMP/stream.ndjson"
  local n
  for n in 1 2 3; do
    awk -v n="$n" '/"end"/ {k++; next} k == n - 1' "$TEST_TMP/stream.ndjson" | kv-promfmt |
      grep '^kubevirt_vmi_guest_os_panic_total' | sed 's/^kubevirt_vmi_guest_os_panic_total//' >"$TEST_TMP/got.$n"
  done
  # lin1 is in no cycle's stats (crashed): its count stays all the same.
  diff -u - "$TEST_TMP/got.1" <<'EOF'
{bugcheck_code="0x9f",name="win1",namespace="default",type="hyper-v"} 1
{bugcheck_code="unknown",name="lin1",namespace="default",type="unknown"} 1
EOF
  diff -u - "$TEST_TMP/got.2" <<'EOF'
{bugcheck_code="0x9f",name="win1",namespace="default",type="hyper-v"} 2
{bugcheck_code="unknown",name="lin1",namespace="default",type="unknown"} 1
EOF
  diff -u - "$TEST_TMP/got.3" <<'EOF'
{bugcheck_code="0x9f",name="win1",namespace="default",type="hyper-v"} 2
{bugcheck_code="unknown",name="lin1",namespace="default",type="unknown"} 2
EOF
}

@test "kv-domstats: a closed stdout is a quiet exit" {
  local rec="$KV_ROOT/tests/cases/kv-domstats/replay-mapping/recording.ndjson"
  for _ in $(seq 200); do cat "$rec"; done >"$TEST_TMP/big.ndjson"
  run --separate-stderr bash -c "kv-domstats --replay '$TEST_TMP/big.ndjson' | head -n 1 >/dev/null; echo \"\${PIPESTATUS[0]}\""
  assert_output 0
  [ -z "$stderr" ] || flunk "$stderr"
}
