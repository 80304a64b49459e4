#!/usr/bin/env bats
# kv-promfmt on the command line: flags, usage errors, exit statuses,
# signals, several inputs, and faults of the input.

setup() {
  load helpers/common
  common_setup
}

teardown() {
  common_teardown
}

@test "--help goes to stdout with status 0 and names every option" {
  run kv-promfmt --help
  assert_success
  assert_output_contains "Usage: kv-promfmt [OPTIONS] [INPUT...]"
  assert_output_contains "--textfile PATH"
  assert_output_contains "Exit status:"
}

@test "--version names the tool and the libraries it runs with" {
  run kv-promfmt --version
  assert_success
  [[ "$output" =~ ^kv-promfmt\ .+\ \(simdjson\ [0-9.]+,\ cpp-httplib\ [0-9.]+,\ zlib\ [0-9.]+,\ spdlog\ [0-9.]+,\ libcurl\ [0-9.]+\)$ ]] || flunk "$output"
}

@test "usage errors exit 2 with the reason on stderr" {
  run --separate-stderr kv-promfmt --format xml
  assert_status 2
  [ -z "$output" ] || flunk "stdout should be empty: $output"
  [[ "$stderr" == *"--format"* && "$stderr" == *"Try 'kv-promfmt --help'"* ]] || flunk "$stderr"

  run --separate-stderr kv-promfmt --no-such-flag
  assert_status 2
  run --separate-stderr kv-promfmt --stale-after soon --listen 127.0.0.1:0
  assert_status 2
  [[ "$stderr" == *'"soon" is not a duration'* ]] || flunk "$stderr"
  run --separate-stderr kv-promfmt --listen nonsense
  assert_status 2
  [[ "$stderr" == *'"nonsense" is not an address'* ]] || flunk "$stderr"
  run --separate-stderr kv-promfmt --max-line-size 0
  assert_status 2
  run --separate-stderr kv-promfmt --max-line-size 18446744073709551615
  assert_status 2
}

@test "--stale-after and --keep-serving without --listen are usage errors" {
  kv-gen-samples --vms 1 >"$TEST_TMP/in.ndjson"
  local opts
  for opts in "--stale-after 1m" "--keep-serving" "--keep-serving --textfile $TEST_TMP/x.prom" "--stale-after 1m --otlp-endpoint http://127.0.0.1:9/v1/metrics"; do
    # shellcheck disable=SC2086 # the options are words
    run --separate-stderr kv-promfmt $opts "$TEST_TMP/in.ndjson"
    assert_status 2
    [ -z "$output" ] || flunk "$opts: stdout should be empty: $output"
    [[ "$stderr" == *"kv-promfmt: ${opts%% *} needs --listen"*"Try 'kv-promfmt --help'"* ]] || flunk "$opts: $stderr"
  done
  [ ! -e "$TEST_TMP/x.prom" ]
}

@test "a missing input file is a runtime failure naming the file" {
  run --separate-stderr kv-promfmt "$TEST_TMP/nope.ndjson"
  assert_status 1
  [[ "$stderr" == *"cannot open input $TEST_TMP/nope.ndjson: No such file or directory"* ]] || flunk "$stderr"
}

@test "'-' reads stdin, and output is byte-identical for identical input" {
  kv-gen-samples --vms 50 >"$TEST_TMP/in.ndjson"
  kv-promfmt <"$TEST_TMP/in.ndjson" >"$TEST_TMP/a.txt"
  kv-promfmt - <"$TEST_TMP/in.ndjson" >"$TEST_TMP/b.txt"
  kv-promfmt "$TEST_TMP/in.ndjson" >"$TEST_TMP/c.txt"
  cmp "$TEST_TMP/a.txt" "$TEST_TMP/b.txt"
  cmp "$TEST_TMP/a.txt" "$TEST_TMP/c.txt"
  [ "$(grep -c '^kubevirt_vmi_' "$TEST_TMP/a.txt")" -eq 1250 ]
}

@test "a 10 MiB line is rejected with its line number and the lines around it flow" {
  {
    echo '{"name":"kv_test_before","type":"gauge","help":"h","value":1}'
    printf '{"name":"kv_test_huge","type":"gauge","help":"%s","value":2}\n' "$(head -c 10485760 /dev/zero | tr '\0' x)"
    echo '{"name":"kv_test_after","type":"gauge","help":"h","value":3}'
  } >"$TEST_TMP/big.ndjson"
  run --separate-stderr kv-promfmt "$TEST_TMP/big.ndjson"
  assert_status 3
  assert_output_contains 'kv_test_before 1'
  assert_output_contains 'kv_test_after 3'
  refute_output_contains 'kv_test_huge'
  [[ "$stderr" == *"$TEST_TMP/big.ndjson:2: line is longer than 1048576 bytes (see --max-line-size); line skipped"* ]] || flunk "$stderr"
  # A larger limit takes it.
  run kv-promfmt --max-line-size 20000000 "$TEST_TMP/big.ndjson"
  assert_success
  assert_output_contains 'kv_test_huge 2'
}

@test "empty input prints nothing and succeeds" {
  run --separate-stderr kv-promfmt </dev/null
  assert_success
  [ -z "$output" ] && [ -z "$stderr" ]
}

@test "several inputs are merged; the later input wins a duplicate series" {
  printf '%s\n' '{"name":"kv_test_m","type":"gauge","help":"h","labels":{"k":"1"},"value":1}' \
    '{"name":"kv_test_m","type":"gauge","labels":{"k":"2"},"value":2}' '{"end":"a"}' >"$TEST_TMP/a.ndjson"
  printf '%s\n' '{"name":"kv_test_m","type":"gauge","labels":{"k":"2"},"value":20}' \
    '{"name":"kv_test_n","type":"gauge","help":"h","value":5}' '{"end":"b"}' >"$TEST_TMP/b.ndjson"
  kv-promfmt --textfile "$TEST_TMP/out.prom" "$TEST_TMP/a.ndjson" "$TEST_TMP/b.ndjson"
  run cat "$TEST_TMP/out.prom"
  assert_output <<'OUT'
# HELP kv_test_m h
# TYPE kv_test_m gauge
kv_test_m{k="1"} 1
kv_test_m{k="2"} 20
# HELP kv_test_n h
# TYPE kv_test_n gauge
kv_test_n 5
OUT
}

@test "FIFOs are inputs too, read side by side, and reopened for the next writer" {
  mkfifo "$TEST_TMP/f1" "$TEST_TMP/f2"
  kv-promfmt --textfile "$TEST_TMP/out.prom" "$TEST_TMP/f1" "$TEST_TMP/f2" 2>"$TEST_TMP/err" &
  local pid=$!
  # The second FIFO gets its writer first: neither input blocks the other.
  printf '%s\n' '{"name":"kv_test_b","type":"gauge","help":"h","value":2}' '{"end":"b"}' >"$TEST_TMP/f2"
  printf '%s\n' '{"name":"kv_test_a","type":"gauge","help":"h","value":1}' '{"end":"a"}' >"$TEST_TMP/f1"
  wait_for 50 grep -q 'kv_test_a 1' "$TEST_TMP/out.prom"
  run cat "$TEST_TMP/out.prom"
  assert_output_contains 'kv_test_b 2'
  # A later writer of the same FIFO replaces that input's snapshot.
  printf '%s\n' '{"name":"kv_test_a","type":"gauge","help":"h","value":10}' '{"end":"a"}' >"$TEST_TMP/f1"
  wait_for 50 grep -q 'kv_test_a 10' "$TEST_TMP/out.prom"
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || flunk "status $rc: $(cat "$TEST_TMP/err")"
  grep -q "f1: the writer closed the FIFO; waiting for the next one" "$TEST_TMP/err"
}

@test "several regular files give the same bytes on every run" {
  kv-gen-samples --vms 30 --seed 1 >"$TEST_TMP/a.ndjson"
  kv-gen-samples --vms 40 --seed 2 --snapshots 2 >"$TEST_TMP/b.ndjson"
  for _ in 1 2 3 4 5 6 7 8; do
    kv-promfmt "$TEST_TMP/a.ndjson" "$TEST_TMP/b.ndjson" | md5sum
  done | sort -u >"$TEST_TMP/sums"
  [ "$(wc -l <"$TEST_TMP/sums")" -eq 1 ] || flunk "outputs differ: $(cat "$TEST_TMP/sums")"
}

@test "stdout write errors other than EPIPE are a failure" {
  printf '%s\n' '{"name":"kv_test_a","type":"gauge","help":"h","value":1}' '{"end":"a"}' >"$TEST_TMP/in.ndjson"
  run --separate-stderr bash -c "kv-promfmt '$TEST_TMP/in.ndjson' >/dev/full"
  assert_status 1
  [[ "$stderr" == *"cannot write to stdout"*"No space left on device"* ]] || flunk "$stderr"
  run --separate-stderr bash -c "kv-promfmt '$TEST_TMP/in.ndjson' >&-"
  assert_status 1
  [[ "$stderr" == *"Bad file descriptor"* ]] || flunk "$stderr"
}

@test "a closed stdin reads as empty input and signals still work" {
  run --separate-stderr bash -c 'kv-promfmt <&-'
  assert_success
}

@test "SIGTERM exits at once even while stdout is blocked" {
  kv-gen-samples --vms 3000 --snapshots 3 >"$TEST_TMP/in.ndjson"
  mkfifo "$TEST_TMP/out"
  kv-promfmt "$TEST_TMP/in.ndjson" >"$TEST_TMP/out" 2>"$TEST_TMP/err" &
  local pid=$!
  exec 9<"$TEST_TMP/out"  # a reader that never reads: the pipe fills up
  sleep 0.5
  kill -TERM "$pid"
  local rc=0 start=$SECONDS
  wait "$pid" || rc=$?
  exec 9<&-
  [ "$rc" -eq 0 ] || flunk "status $rc: $(cat "$TEST_TMP/err")"
  [ $((SECONDS - start)) -le 10 ] || flunk "took $((SECONDS - start))s"
}

@test "SIGTERM and SIGINT finish cleanly with status 0" {
  local sig
  for sig in TERM INT; do
    mkfifo "$TEST_TMP/in.$sig"
    kv-promfmt --textfile "$TEST_TMP/out.prom" "$TEST_TMP/in.$sig" 2>"$TEST_TMP/err" &
    local pid=$!
    exec 8>"$TEST_TMP/in.$sig"
    printf '%s\n' '{"name":"kv_test_a","type":"gauge","help":"h","value":1}' '{"end":"a"}' >&8
    wait_for 50 test -s "$TEST_TMP/out.prom"
    kill -"$sig" "$pid"
    local rc=0
    wait "$pid" || rc=$?
    exec 8>&-
    [ "$rc" -eq 0 ] || flunk "SIG$sig: status $rc: $(cat "$TEST_TMP/err")"
    grep -q "received" "$TEST_TMP/err"
    rm -f "$TEST_TMP/out.prom"
  done
}

@test "a closed stdout (EPIPE) is a quiet exit" {
  kv-gen-samples --vms 2000 --snapshots 5 >"$TEST_TMP/in.ndjson"
  run --separate-stderr bash -c "kv-promfmt '$TEST_TMP/in.ndjson' | head -n 1; echo \"\${PIPESTATUS[0]}\" >'$TEST_TMP/rc'"
  assert_success
  [ "$(cat "$TEST_TMP/rc")" -eq 0 ] || flunk "kv-promfmt exited $(cat "$TEST_TMP/rc")"
  [ -z "$stderr" ] || flunk "stderr should be empty: $stderr"
}

@test "self-metrics are off on stdout by default and count rejected lines when asked" {
  printf '%s\n' '{"name":"kv_test_a","type":"gauge","help":"h","value":1}' 'garbage' \
    '{"name":"kv_test_a","labels":{"__x":"1"},"type":"gauge","value":1}' '{"end":"a"}' >"$TEST_TMP/in.ndjson"
  run kv-promfmt "$TEST_TMP/in.ndjson"
  refute_output_contains kv_promfmt_
  KV_NOW=1763856000000 run --separate-stderr kv-promfmt --self-metrics "$TEST_TMP/in.ndjson"
  assert_status 3
  assert_output_contains "kv_promfmt_lines_rejected_total{input=\"$TEST_TMP/in.ndjson\",reason=\"invalid_json\"} 1"
  assert_output_contains "kv_promfmt_lines_rejected_total{input=\"$TEST_TMP/in.ndjson\",reason=\"reserved_label_name\"} 1"
  assert_output_contains "kv_promfmt_snapshots_published_total{input=\"$TEST_TMP/in.ndjson\"} 1"
  assert_output_contains "kv_promfmt_samples{input=\"$TEST_TMP/in.ndjson\"} 1"
  assert_output_contains "kv_promfmt_last_snapshot_timestamp_seconds{input=\"$TEST_TMP/in.ndjson\"} 1763856000"
  printf '%s\n' "$output" | promtool check metrics
}

@test "make demo's pipeline passes promtool" {
  run bash -c 'kv-gen-samples --vms 3 | kv-promfmt | promtool check metrics'
  assert_success
}
