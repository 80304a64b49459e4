#!/usr/bin/env bats
# kv-promfmt --textfile: the node_exporter textfile output. Each end record
# atomically replaces the file (temp file in the same directory, fsync,
# rename, mode 0644), without timestamps; a snapshot that no end record
# closed is never published.

load helpers/common

setup() {
  common_setup
}

teardown() {
  if [ -n "${READER_PID:-}" ]; then
    kill "$READER_PID" 2>/dev/null || true
    wait "$READER_PID" 2>/dev/null || true
  fi
  common_teardown
}

# The names in a directory, one a line, dotfiles included.
dir_listing() {
  ls -A "$1"
}

# assert_textfile_refused PATH DIR REASON: kv-promfmt --textfile PATH failed
# at start with status 1 (a runtime failure, not a usage error), saying which
# file, which directory and why.
assert_textfile_refused() {
  # shellcheck disable=SC2154 # $stderr comes from run --separate-stderr
  [ "$status" -eq 1 ] || flunk "expected status 1, got $status; stderr: $stderr"
  [ -z "$output" ] || flunk "stdout should be empty: $output"
  [[ "$stderr" == *"error: cannot write the textfile $1: directory $2: $3; "*"choose another --textfile"* ]] ||
    flunk "unexpected message: $stderr"
  [[ "$stderr" != *"--help"* ]] || flunk "a usage error's hint for a runtime failure: $stderr"
}

@test "textfile: mode 0644 even under umask 077, no timestamps, same bytes as stdout, no temp file left" {
  mkdir "$TEST_TMP/tf"
  kv-gen-samples --vms 3 --timestamps >"$TEST_TMP/in.ndjson"
  # The input really carries timestamps, and stdout would print them on request.
  grep -q '"ts":1763856000000' "$TEST_TMP/in.ndjson"
  kv-promfmt --timestamps <"$TEST_TMP/in.ndjson" >"$TEST_TMP/stdout-ts.prom"
  grep -q ' 1763856000000$' "$TEST_TMP/stdout-ts.prom"

  run bash -c 'umask 077 && kv-promfmt --textfile "$1/tf/x.prom" <"$1/in.ndjson" >"$1/stdout"' _ "$TEST_TMP"
  assert_success
  [ "$output" = "" ] || flunk "unexpected stderr: $output"
  [ ! -s "$TEST_TMP/stdout" ] || flunk "textfile mode wrote to stdout: $(head -c 300 "$TEST_TMP/stdout")"

  [ "$(stat -c %a "$TEST_TMP/tf/x.prom")" = 644 ] ||
    flunk "mode is $(stat -c %a "$TEST_TMP/tf/x.prom"), want 644"
  [ "$(dir_listing "$TEST_TMP/tf")" = "x.prom" ] ||
    flunk "directory holds more than the textfile: $(dir_listing "$TEST_TMP/tf")"

  if grep -n '1763856000000' "$TEST_TMP/tf/x.prom" >&2; then
    flunk "the textfile carries timestamps"
  fi
  # Every sample line is exactly "name{labels} value".
  run grep -Evc '^(#.*|[a-zA-Z_:][a-zA-Z0-9_:]*\{[^}]*\} [^ ]+)$' "$TEST_TMP/tf/x.prom"
  assert_output 0

  # Byte for byte what the stdout mode prints without --timestamps.
  kv-promfmt <"$TEST_TMP/in.ndjson" >"$TEST_TMP/stdout.prom"
  assert_file_equals "$TEST_TMP/stdout.prom" "$TEST_TMP/tf/x.prom"
  # 3 VMs x 25 series, 23 families with HELP and TYPE.
  [ "$(grep -vc '^#' "$TEST_TMP/tf/x.prom")" -eq 75 ]
  [ "$(grep -c '^# TYPE ' "$TEST_TMP/tf/x.prom")" -eq 23 ]
}

@test "textfile: histograms as stdout writes them, without timestamps, merged from two inputs" {
  local case="$KV_ROOT/tests/cases/kv-promfmt/histogram-two-sources"
  sed 's/}$/,"ts":1763856000123}/; /"end"/s/,"ts":1763856000123//' "$case/a.ndjson" >"$TEST_TMP/a.ndjson"
  grep -q '"ts":1763856000123' "$TEST_TMP/a.ndjson"
  kv-promfmt --timestamps --textfile "$TEST_TMP/h.prom" "$TEST_TMP/a.ndjson" "$case/b.ndjson" 2>"$TEST_TMP/err"
  # The stdout mode's last exposition (it prints one per end record) is the merge of both.
  kv-promfmt "$case/a.ndjson" "$case/b.ndjson" | awk '/^# HELP/ {n++} n == 2' >"$TEST_TMP/stdout.prom"
  assert_file_equals "$TEST_TMP/stdout.prom" "$TEST_TMP/h.prom"
  if grep -n '1763856000123' "$TEST_TMP/h.prom" >&2; then flunk "the textfile carries timestamps"; fi
  promtool check metrics <"$TEST_TMP/h.prom"
  # 3 series of 4 finite buckets, +Inf, _sum and _count; the later input won Succeeded.
  [ "$(grep -vc '^#' "$TEST_TMP/h.prom")" -eq 21 ]
  grep -qx 'kubevirt_vmi_phase_transition_time_seconds_count{last_phase="Running",phase="Succeeded"} 3' "$TEST_TMP/h.prom"
}

@test "textfile: --timestamps never reaches the textfile (warns instead)" {
  kv-gen-samples --vms 2 --timestamps >"$TEST_TMP/in.ndjson"
  run kv-promfmt --timestamps --textfile "$TEST_TMP/x.prom" "$TEST_TMP/in.ndjson"
  assert_success
  assert_output_contains "--timestamps has no effect on --textfile"
  kv-promfmt "$TEST_TMP/in.ndjson" >"$TEST_TMP/stdout.prom"
  assert_file_equals "$TEST_TMP/stdout.prom" "$TEST_TMP/x.prom"
}

@test "textfile: an existing file is replaced with mode 0644, whatever its mode was" {
  printf 'stale_metric 1\n' >"$TEST_TMP/x.prom"
  chmod 0600 "$TEST_TMP/x.prom"
  kv-gen-samples --vms 1 | kv-promfmt --textfile "$TEST_TMP/x.prom"
  [ "$(stat -c %a "$TEST_TMP/x.prom")" = 644 ]
  if grep -q stale_metric "$TEST_TMP/x.prom"; then flunk "old content survived"; fi
  grep -q '^kubevirt_vmi_memory_resident_bytes{name="vm-00000",namespace="ns-000",node="node-000"} ' "$TEST_TMP/x.prom"
}

@test "textfile: readers never see a partial or missing file while it is rewritten thousands of times" {
  local f="$TEST_TMP/tf/kv.prom" vms=20 snapshots=3000
  mkdir "$TEST_TMP/tf"
  # The initial file: one snapshot, so that the reader never legitimately
  # finds no file.
  kv-gen-samples --vms "$vms" | kv-promfmt --textfile "$f"
  local lines
  lines="$(wc -l <"$f")"
  # vms x 25 series + 23 families x (HELP + TYPE)
  [ "$lines" -eq $((vms * 25 + 46)) ] || flunk "initial file has $lines lines"
  local last_prefix='kubevirt_vmi_vcpu_wait_seconds_total{id="1",name="vm-00019",namespace="ns-000",node="node-000"} '
  [[ "$(tail -n1 "$f")" == "$last_prefix"* ]] || flunk "unexpected last line: $(tail -n1 "$f")"

  # The reader: reads the whole file as fast as it can until told to stop
  # (or 90 s pass), checks every read, prints a summary on stdout.
  "$PYTHON3" - "$f" "$lines" "$last_prefix" "$TEST_TMP/stop" >"$TEST_TMP/reader.out" 2>&1 3>&- <<'PY' &
import hashlib, os, sys, time
path, want_lines, last_prefix, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4]
reads = bad = 0
seen = set()
deadline = time.monotonic() + 90
while not os.path.exists(stop) and time.monotonic() < deadline:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        bad += 1
        print("read %d: file missing" % reads)
        reads += 1
        continue
    reads += 1
    problems = []
    if not data.endswith(b"\n"):
        problems.append("does not end with a newline")
    if data.count(b"\n") != want_lines:
        problems.append("has %d lines, want %d" % (data.count(b"\n"), want_lines))
    last = data.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    if not last.startswith(last_prefix):
        problems.append("last line is %r" % last[:200])
    if problems:
        bad += 1
        if bad <= 10:
            print("read %d: %s" % (reads, "; ".join(problems)))
    seen.add(hashlib.sha1(data).digest())
print("reads=%d bad=%d distinct=%d" % (reads, bad, len(seen)))
sys.exit(1 if bad else 0)
PY
  READER_PID=$!

  # The writer: thousands of snapshots, each an atomic replace. Bounded.
  local status=0
  # shellcheck disable=SC2016 # the inner shell expands its own arguments
  timeout 60 bash -c 'set -o pipefail; kv-gen-samples --vms "$1" --snapshots "$2" | kv-promfmt --textfile "$3"' \
    _ "$vms" "$snapshots" "$f" 2>"$TEST_TMP/writer.err" || status=$?
  touch "$TEST_TMP/stop"
  local reader_status=0
  wait "$READER_PID" || reader_status=$?
  READER_PID=
  echo "writer status $status; reader: $(tail -n1 "$TEST_TMP/reader.out")"
  [ "$status" -eq 0 ] || flunk "writer failed (status $status): $(cat "$TEST_TMP/writer.err")"
  [ "$reader_status" -eq 0 ] || flunk "the reader saw broken files:"$'\n'"$(cat "$TEST_TMP/reader.out")"

  # The reader really raced the rewrites: many reads, many different contents.
  local summary reads distinct
  summary="$(tail -n1 "$TEST_TMP/reader.out")"
  reads="$(sed -n 's/^reads=\([0-9]*\) .*/\1/p' <<<"$summary")"
  distinct="$(sed -n 's/.* distinct=\([0-9]*\)$/\1/p' <<<"$summary")"
  [ "${reads:-0}" -ge 100 ] || flunk "only ${reads:-0} reads: $summary"
  [ "${distinct:-0}" -ge 10 ] || flunk "only ${distinct:-0} different contents seen: $summary"

  # Nothing left behind but the textfile, and it holds the last snapshot.
  [ "$(dir_listing "$TEST_TMP/tf")" = "kv.prom" ] ||
    flunk "directory holds more than the textfile: $(dir_listing "$TEST_TMP/tf")"
  kv-gen-samples --vms "$vms" --snapshots "$snapshots" | tail -n $((vms * 25 + 1)) |
    kv-promfmt >"$TEST_TMP/last.prom"
  assert_file_equals "$TEST_TMP/last.prom" "$f"
}

@test "textfile: an input without end record writes nothing and warns" {
  kv-gen-samples --vms 2 | grep -v '"end"' >"$TEST_TMP/open.ndjson"
  [ "$(wc -l <"$TEST_TMP/open.ndjson")" -eq 50 ]

  # No file yet: none is created.
  run kv-promfmt --textfile "$TEST_TMP/x.prom" "$TEST_TMP/open.ndjson"
  assert_success
  assert_output_contains "50 samples that no end record closed"
  [ ! -e "$TEST_TMP/x.prom" ] || flunk "a textfile was written: $(head -n5 "$TEST_TMP/x.prom")"
  [ "$(dir_listing "$TEST_TMP")" = "open.ndjson" ] || flunk "left behind: $(dir_listing "$TEST_TMP")"

  # An existing file (the previous run's snapshot) stays as it was.
  kv-gen-samples --vms 1 --seed 5 | kv-promfmt --textfile "$TEST_TMP/x.prom"
  cp -p "$TEST_TMP/x.prom" "$TEST_TMP/before.prom"
  run kv-promfmt --textfile "$TEST_TMP/x.prom" <"$TEST_TMP/open.ndjson"
  assert_success
  assert_output_contains "stdin: input ended with 50 samples that no end record closed"
  assert_file_equals "$TEST_TMP/before.prom" "$TEST_TMP/x.prom"
}

@test "textfile: a complete snapshot followed by trailing samples writes only the complete snapshot" {
  kv-gen-samples --vms 2 >"$TEST_TMP/complete.ndjson"
  # The trailing part: another, bigger snapshot cut before its end record.
  kv-gen-samples --vms 3 --seed 7 | grep -v '"end"' >"$TEST_TMP/trailing.ndjson"
  cat "$TEST_TMP/complete.ndjson" "$TEST_TMP/trailing.ndjson" >"$TEST_TMP/in.ndjson"

  run kv-promfmt --textfile "$TEST_TMP/x.prom" "$TEST_TMP/in.ndjson"
  assert_success
  assert_output_contains "75 samples that no end record closed"

  kv-promfmt "$TEST_TMP/complete.ndjson" >"$TEST_TMP/want.prom"
  assert_file_equals "$TEST_TMP/want.prom" "$TEST_TMP/x.prom"
  if grep -q 'vm-00002' "$TEST_TMP/x.prom"; then flunk "the unclosed snapshot leaked"; fi
  # Whereas stdout prints the trailing samples at end of input (the contract).
  run kv-promfmt "$TEST_TMP/in.ndjson"
  assert_success
  assert_output_contains 'name="vm-00002"'
}

@test "textfile: a directory that does not exist is a runtime failure at start, naming it and how to fix it" {
  kv-gen-samples --vms 1 >"$TEST_TMP/in.ndjson"
  run --separate-stderr kv-promfmt --textfile "$TEST_TMP/no/such/dir/x.prom" "$TEST_TMP/in.ndjson"
  assert_textfile_refused "$TEST_TMP/no/such/dir/x.prom" "$TEST_TMP/no/such/dir" "No such file or directory"
  [[ "$stderr" == *"create it (mkdir -p $TEST_TMP/no/such/dir)"* ]] || flunk "$stderr"
  [ ! -e "$TEST_TMP/no" ]

  # A relative path too, named as given.
  cd "$TEST_TMP"
  run --separate-stderr kv-promfmt --textfile missing/x.prom in.ndjson
  assert_textfile_refused missing/x.prom missing "No such file or directory"
  [ ! -e "$TEST_TMP/missing" ]
}

@test "textfile: a file where the directory should be is a runtime failure at start" {
  kv-gen-samples --vms 1 >"$TEST_TMP/in.ndjson"
  : >"$TEST_TMP/file"
  run --separate-stderr kv-promfmt --textfile "$TEST_TMP/file/x.prom" "$TEST_TMP/in.ndjson"
  assert_textfile_refused "$TEST_TMP/file/x.prom" "$TEST_TMP/file" "Not a directory"
  [ ! -s "$TEST_TMP/file" ]
}

@test "textfile: a directory this user cannot write is a runtime failure at start" {
  kv-gen-samples --vms 1 >"$TEST_TMP/in.ndjson"
  mkdir "$TEST_TMP/ro"
  chmod 0555 "$TEST_TMP/ro"
  # root writes anywhere: drop to nobody, with a copy of the tool in the temp
  # dir (the build may sit where nobody cannot reach it, such as /root).
  local as_user=() tool=kv-promfmt
  if [ "$(id -u)" -eq 0 ]; then
    as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
    tool="$TEST_TMP/kv-promfmt"
    cp "$(command -v kv-promfmt)" "$tool"
    chmod 0755 "$TEST_TMP" "$tool"
    chmod 0644 "$TEST_TMP/in.ndjson"
  fi
  run --separate-stderr "${as_user[@]}" "$tool" --textfile "$TEST_TMP/ro/x.prom" "$TEST_TMP/in.ndjson"
  assert_textfile_refused "$TEST_TMP/ro/x.prom" "$TEST_TMP/ro" "Permission denied"
  [[ "$stderr" == *"give uid $("${as_user[@]}" id -u) write access to it"* ]] || flunk "$stderr"
  [ -z "$(ls -A "$TEST_TMP/ro")" ] || flunk "left in the directory: $(ls -A "$TEST_TMP/ro")"
}
