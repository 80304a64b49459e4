#!/usr/bin/env bats
# End to end with Debian's real node_exporter (1.5) textfile collector:
# kv-promfmt --textfile writes into a temp dir, node_exporter (only the
# textfile collector, on 127.0.0.1) re-exposes it, and what it serves must be
# what went in. A VM gone from the next snapshot is gone from node_exporter
# as soon as the file is replaced.

load helpers/common

NODE_EXPORTER=/usr/bin/prometheus-node-exporter

# Starts node_exporter with only the textfile collector on $TEST_TMP/textfiles.
start_node_exporter() {
  TEXTFILE_DIR="$TEST_TMP/textfiles"
  mkdir -p "$TEXTFILE_DIR"
  NE_PORT="$(free_port)"
  "$NODE_EXPORTER" --collector.disable-defaults --collector.textfile \
    --collector.textfile.directory="$TEXTFILE_DIR" \
    --web.listen-address="127.0.0.1:$NE_PORT" \
    >"$TEST_TMP/node_exporter.log" 2>&1 3>&- &
  NE_PID=$!
  if ! wait_for 100 curl -sf --max-time 1 -o /dev/null "http://127.0.0.1:$NE_PORT/metrics"; then
    cat "$TEST_TMP/node_exporter.log" >&2
    return 1
  fi
}

scrape() {  # file to write node_exporter's /metrics to
  curl -sfS --max-time 5 -o "$1" "http://127.0.0.1:$NE_PORT/metrics"
}

# Compares the series node_exporter serves under the given name prefixes with
# the last snapshot of each NDJSON input (merged), exactly: same label sets,
# same values. compare_with_input METRICS PREFIXES NDJSON...
compare_with_input() {
  "$PYTHON3" - "$@" <<'PY'
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
metrics, prefixes, inputs = sys.argv[1], tuple(sys.argv[2].split(",")), sys.argv[3:]
want = {}
for path in inputs:
    last, current = {}, {}
    for line in open(path, encoding="utf-8"):
        rec = json.loads(line)
        if "end" in rec:
            last, current = current, {}
            continue
        current[(rec["name"],) + tuple(sorted(rec.get("labels", {}).items()))] = float(rec["value"])
    want.update(last)
got = {}
with open(metrics, encoding="utf-8") as fh:
    for family in text_string_to_metric_families(fh.read()):
        for s in family.samples:
            if s.name.startswith(prefixes):
                got[(s.name,) + tuple(sorted(s.labels.items()))] = s.value
bad = 0
for key in sorted(set(want) | set(got)):
    problem = None
    if key not in got:
        problem = "missing in node_exporter"
    elif key not in want:
        problem = "not in the input"
    elif not (got[key] == want[key] or (math.isnan(got[key]) and math.isnan(want[key]))):
        problem = "value: input %r, node_exporter %r" % (want[key], got[key])
    if problem:
        bad += 1
        if bad <= 10:
            print("%s %s: %s" % (key[0], dict(key[1:]), problem))
print("compared %d series, %d bad" % (len(want), bad))
sys.exit(1 if bad or not want else 0)
PY
}

setup() {
  common_setup
  if ! "$NODE_EXPORTER" --version 2>&1 | grep -q '^node_exporter, version 1\.'; then
    flunk "node_exporter does not work: $("$NODE_EXPORTER" --version 2>&1)"
  fi
  start_node_exporter
}

teardown() {
  exec 8>&- 2>/dev/null || true
  local pid
  for pid in "${PROMFMT_PID:-}" "${NE_PID:-}"; do
    [ -n "$pid" ] || continue
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  common_teardown
}

@test "node_exporter: the flags used here exist in this node_exporter" {
  run "$NODE_EXPORTER" --help
  assert_success
  assert_output_contains "--collector.disable-defaults"
  assert_output_contains "--collector.textfile.directory"
  assert_output_contains "--collector.textfile "
  assert_output_contains "--web.listen-address"
}

@test "node_exporter: re-exposes a kv-promfmt textfile with the same series and values, without error" {
  kv-gen-samples --vms 3 --snapshots 2 >"$TEST_TMP/gen.ndjson"
  cp "$KV_ROOT/tests/fixtures/distinctive-samples.ndjson" "$TEST_TMP/fixture.ndjson"
  run kv-promfmt --textfile "$TEXTFILE_DIR/kubevirt.prom" "$TEST_TMP/gen.ndjson" "$TEST_TMP/fixture.ndjson"
  assert_success
  [ "$(ls -A "$TEXTFILE_DIR")" = "kubevirt.prom" ] || flunk "textfile dir holds: $(ls -A "$TEXTFILE_DIR")"

  scrape "$TEST_TMP/metrics"
  run grep -E '^node_textfile_scrape_error ' "$TEST_TMP/metrics"
  assert_output "node_textfile_scrape_error 0"
  run grep -E '^node_scrape_collector_success\{collector="textfile"\} ' "$TEST_TMP/metrics"
  assert_output 'node_scrape_collector_success{collector="textfile"} 1'

  # The file was read and validated: its mtime is exported (whole seconds).
  local mtime
  mtime="$(sed -n "s|^node_textfile_mtime_seconds{file=\"$TEXTFILE_DIR/kubevirt.prom\"} ||p" "$TEST_TMP/metrics")"
  [ -n "$mtime" ] || flunk "no node_textfile_mtime_seconds for the file:"$'\n'"$(grep node_textfile "$TEST_TMP/metrics")"
  "$PYTHON3" -c 'import sys; sys.exit(float(sys.argv[1]) != float(sys.argv[2]))' \
    "$mtime" "$(stat -c %Y "$TEXTFILE_DIR/kubevirt.prom")" ||
    flunk "node_textfile_mtime_seconds is $mtime, the file's mtime $(stat -c %Y "$TEXTFILE_DIR/kubevirt.prom")"

  # Every series, exactly: 75 KubeVirt ones (full-precision counters) and the
  # fixture's (escaped label values, large and tiny numbers, +Inf).
  run compare_with_input "$TEST_TMP/metrics" kubevirt_,kvtest_ "$TEST_TMP/gen.ndjson" "$TEST_TMP/fixture.ndjson"
  echo "${output##*$'\n'}"
  assert_success
  assert_output_contains "compared 81 series, 0 bad"

  # A few exposition lines verbatim, escaping included.
  grep -qxF 'kvtest_escaped_info{backslash="C:\\dir\\",newline="line1\nline2",quote="say \"hi\"",utf8="Grüße, 世界 🚀"} 1' "$TEST_TMP/metrics" ||
    flunk "escaped series not re-exposed verbatim:"$'\n'"$(grep kvtest_escaped "$TEST_TMP/metrics")"
  grep -qxF '# HELP kvtest_escaped_info Label values with "quotes", back\\slashes and UTF-8.' "$TEST_TMP/metrics" ||
    flunk "HELP not kept:"$'\n'"$(grep 'HELP kvtest_escaped' "$TEST_TMP/metrics")"
  grep -qxF '# TYPE kubevirt_vmi_cpu_usage_seconds_total counter' "$TEST_TMP/metrics"
  grep -qxF 'kvtest_inf{vm="a"} +Inf' "$TEST_TMP/metrics"

  # node_exporter had nothing to complain about.
  run grep -E '^promhttp_metric_handler_errors_total\{cause="gathering"\} ' "$TEST_TMP/metrics"
  assert_output 'promhttp_metric_handler_errors_total{cause="gathering"} 0'
  run grep -iE 'level=(warn|error)' "$TEST_TMP/node_exporter.log"
  refute_output_contains "textfile"
}

@test "node_exporter: a VM removed from the next snapshot disappears once the textfile is replaced" {
  local f="$TEXTFILE_DIR/kubevirt.prom" fifo="$TEST_TMP/in.fifo"
  mkfifo "$fifo"
  # One long-running kv-promfmt, as behind `kv-domstats | kv-promfmt --textfile`.
  kv-promfmt --textfile "$f" "$fifo" 2>"$TEST_TMP/promfmt.log" 3>&- &
  PROMFMT_PID=$!
  exec 8<>"$fifo"  # read-write: never blocks, even if kv-promfmt is gone

  kv-gen-samples --vms 3 >&8
  wait_for 100 grep -q 'name="vm-00002"' "$f"
  scrape "$TEST_TMP/metrics1"
  run grep -E '^node_textfile_scrape_error ' "$TEST_TMP/metrics1"
  assert_output "node_textfile_scrape_error 0"
  [ "$(grep -c '^kubevirt_vmi_.*name="vm-00002"' "$TEST_TMP/metrics1")" -eq 25 ]
  run compare_with_input "$TEST_TMP/metrics1" kubevirt_ <(kv-gen-samples --vms 3)
  assert_success
  assert_output_contains "compared 75 series, 0 bad"

  # The next snapshot lacks vm-00002 (and carries new counter values).
  kv-gen-samples --vms 2 --snapshots 2 | tail -n 51 >&8
  # shellcheck disable=SC2016 # $1 is the inner shell's
  wait_for 100 bash -c '[ -s "$1" ] && ! grep -q "name=\"vm-00002\"" "$1"' _ "$f"
  scrape "$TEST_TMP/metrics2"
  run grep -E '^node_textfile_scrape_error ' "$TEST_TMP/metrics2"
  assert_output "node_textfile_scrape_error 0"
  if grep 'vm-00002' "$TEST_TMP/metrics2" >&2; then
    flunk "node_exporter still exposes the removed VM"
  fi
  [ "$(grep -c '^kubevirt_vmi_.*name="vm-00001"' "$TEST_TMP/metrics2")" -eq 25 ]
  run compare_with_input "$TEST_TMP/metrics2" kubevirt_ <(kv-gen-samples --vms 2 --snapshots 2)
  echo "${output##*$'\n'}"
  assert_success
  assert_output_contains "compared 50 series, 0 bad"

  # kv-promfmt is still running and complained about nothing.
  kill -0 "$PROMFMT_PID"
  run cat "$TEST_TMP/promfmt.log"
  assert_output ""
}
