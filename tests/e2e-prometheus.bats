#!/usr/bin/env bats
# End to end with Debian's real Prometheus server (2.42): it scrapes
# `kv-promfmt --listen --keep-serving` every second, and what its query API
# reads back must be exactly what went in: names, label values (quotes,
# backslashes, newlines, UTF-8), values (full double precision, +Inf, NaN),
# HELP/TYPE/UNIT metadata, and histograms that histogram_quantile reads.
#
# One Prometheus and one kv-promfmt serve the whole file (setup_file); both
# listen on 127.0.0.1 only and live in a temp dir that teardown_file removes.

load helpers/common

PROM_BIN=/usr/bin/prometheus
JOB=kvpromfmt
# What Prometheus 2.42 sends (scrape/scrape.go, scrapeAcceptHeader).
PROM_ACCEPT='application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'


# GET on Prometheus's HTTP API: prom_api PATH [curl args...]
prom_api() {
  local path="$1"; shift
  curl -sS --max-time 5 --get "$@" "http://127.0.0.1:$PROM_PORT$path"
}

# The instant query's result vector (JSON array).
prom_query() {
  prom_api /api/v1/query --data-urlencode "query=$1" | jq -c '.data.result'
}

# The value (a string, as the API gives it) of a query with a single result;
# empty when there is not exactly one.
prom_value() {
  prom_api /api/v1/query --data-urlencode "query=$1" |
    jq -r 'if (.data.result | length) == 1 then .data.result[0].value[1] else empty end'
}

# True once Prometheus holds every series of the last scrape of kv-promfmt.
series_ingested() {
  [ "$(prom_value "count({job=\"$JOB\",__name__=~\"kubevirt_.*\"})")" = 75 ] &&
    [ "$(prom_value "count({job=\"$JOB\",__name__=~\"kvtest_.*\"})")" = 6 ] &&
    [ "$(prom_value "count({job=\"$JOB\",__name__=~\"kvhist_.*\"})")" = 42 ]
}

stop_pid() {  # pid: TERM, then KILL after 5 s
  local pid="$1" i
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

setup_file() {
  if ! "$PROM_BIN" --version 2>&1 | grep -q '^prometheus, version 2\.'; then
    echo "prometheus does not work: $("$PROM_BIN" --version 2>&1)" >&2
    return 1
  fi
  E2E_TMP="$(mktemp -d "${BATS_TMPDIR:-/tmp}/kv-e2e-prom.XXXXXX")"
  export E2E_TMP

  # Two sources: a KubeVirt-shaped stream (two snapshots, so that the
  # counters of the last one carry full-precision fractions) and the fixture.
  kv-gen-samples --vms 3 --snapshots 2 >"$E2E_TMP/gen.ndjson"
  cp "$KV_ROOT/tests/fixtures/distinctive-samples.ndjson" "$E2E_TMP/fixture.ndjson"

  # And histograms with KubeVirt's phase transition buckets: 2 series of 18
  # finite buckets, +Inf, _sum and _count (42 samples).
  local b='"0.5":0,"1":10,"2":20,"5":40,"10":40,"20":40,"30":40,"40":40,"50":40,"60":40,"90":40,"120":40,"180":40,"300":40,"600":40,"1200":40,"1800":40,"3600":40,"+Inf":40'
  local c='"0.5":0,"1":0,"2":0,"5":0,"10":0,"20":5,"30":10,"40":10,"50":10,"60":10,"90":10,"120":10,"180":10,"300":10,"600":10,"1200":10,"1800":10,"3600":10,"+Inf":10'
  cat >"$E2E_TMP/histograms.ndjson" <<EOF
{"name":"kvhist_phase_transition_time_seconds","type":"histogram","help":"A histogram.","unit":"seconds","labels":{"phase":"Running","last_phase":"Scheduled"},"buckets":{$b},"sum":100,"value":40}
{"name":"kvhist_phase_transition_time_seconds","type":"histogram","unit":"seconds","labels":{"phase":"Scheduled","last_phase":"Scheduling"},"buckets":{$c},"sum":250,"value":10}
{"end":"histograms"}
EOF

  kv-promfmt --listen 127.0.0.1:0 --keep-serving "$E2E_TMP/gen.ndjson" "$E2E_TMP/fixture.ndjson" \
    "$E2E_TMP/histograms.ndjson" \
    2>"$E2E_TMP/promfmt.log" 3>&- &
  PROMFMT_PID=$!
  wait_for 50 grep -q 'listening on' "$E2E_TMP/promfmt.log"
  PROMFMT_PORT="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$E2E_TMP/promfmt.log" | head -n1)"
  [ -n "$PROMFMT_PORT" ] || { cat "$E2E_TMP/promfmt.log" >&2; return 1; }
  export PROMFMT_PORT

  PROM_PORT="$(free_port)"
  export PROM_PORT
  cat >"$E2E_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: $JOB
    static_configs:
      - targets: ['127.0.0.1:$PROMFMT_PORT']
EOF
  "$PROM_BIN" --config.file="$E2E_TMP/prometheus.yml" \
    --storage.tsdb.path="$E2E_TMP/tsdb" \
    --web.listen-address="127.0.0.1:$PROM_PORT" \
    >"$E2E_TMP/prometheus.log" 2>&1 3>&- &
  PROM_PID=$!

  # Bounded waits: ready within 30 s, the series within 30 s more (the
  # scrape manager applies new targets every 5 s, then scrapes every 1 s).
  if ! wait_for 300 curl -sf --max-time 1 "http://127.0.0.1:$PROM_PORT/-/ready" ||
     ! wait_for 300 series_ingested; then
    echo "--- prometheus.log"; tail -n 30 "$E2E_TMP/prometheus.log"
    echo "--- targets"; prom_api /api/v1/targets || true
    echo "--- promfmt.log"; cat "$E2E_TMP/promfmt.log"
    return 1
  fi >&2
}

teardown_file() {
  stop_pid "${PROM_PID:-}"
  stop_pid "${PROMFMT_PID:-}"
  if [ -n "${E2E_TMP:-}" ]; then rm -rf "$E2E_TMP"; fi
}

@test "prometheus: the scrape is healthy (up is 1, no error, every exposed sample ingested)" {
  run prom_value "up{job=\"$JOB\"}"
  assert_output 1

  run prom_api /api/v1/targets
  assert_success
  run jq -c '[.data.activeTargets[] | {job: .labels.job, health, lastError}]' <<<"$output"
  assert_output "[{\"job\":\"$JOB\",\"health\":\"up\",\"lastError\":\"\"}]"

  # What kv-promfmt answers to Prometheus's Accept header: OpenMetrics 1.0.0
  # or the classic text format, and a well-formed body of either.
  curl -sS --max-time 5 -H "Accept: $PROM_ACCEPT" -D "$TEST_TMP/headers" \
    -o "$TEST_TMP/body" "http://127.0.0.1:$PROMFMT_PORT/metrics"
  local ctype
  ctype="$(tr -d '\r' <"$TEST_TMP/headers" | sed -n 's/^[Cc]ontent-[Tt]ype: *//p')"
  echo "negotiated: $ctype"
  case "$ctype" in
    application/openmetrics-text\;\ version=1.0.0*)
      [ "$(tail -n1 "$TEST_TMP/body")" = "# EOF" ] || flunk "OpenMetrics body without # EOF" ;;
    text/plain\;\ version=0.0.4*)
      if grep -q '^# EOF' "$TEST_TMP/body"; then flunk "text body with # EOF"; fi ;;
    *) flunk "unexpected Content-Type for Prometheus's Accept header: $ctype" ;;
  esac

  # Prometheus took every sample of such a body (no parse error, nothing dropped).
  local exposed
  exposed="$(grep -vc '^#' "$TEST_TMP/body")"
  [ "$exposed" -ge 81 ] || flunk "only $exposed samples exposed"
  run prom_value "scrape_samples_scraped{job=\"$JOB\"}"
  assert_output "$exposed"
  run prom_value "scrape_samples_post_metric_relabeling{job=\"$JOB\"}"
  assert_output "$exposed"
}

@test "prometheus: every kubevirt series reads back with its exact labels and value" {
  prom_api /api/v1/query --data-urlencode "query={job=\"$JOB\",__name__=~\"kubevirt_.*\"}" \
    >"$TEST_TMP/result.json"
  run "$PYTHON3" - "$E2E_TMP/gen.ndjson" "$TEST_TMP/result.json" "$JOB" "127.0.0.1:$PROMFMT_PORT" <<'PY'
import json, math, sys
ndjson, result, job, instance = sys.argv[1:5]
# The input's last snapshot (the stream holds two; each end record closes one).
want, current = {}, {}
for line in open(ndjson, encoding="utf-8"):
    rec = json.loads(line)
    if "end" in rec:
        want, current = current, {}
        continue
    labels = dict(rec.get("labels", {}), __name__=rec["name"], job=job, instance=instance)
    current[tuple(sorted(labels.items()))] = float(rec["value"])
got = {}
for r in json.load(open(result, encoding="utf-8"))["data"]["result"]:
    got[tuple(sorted(r["metric"].items()))] = r["value"][1]
bad = 0
def report(*args):
    if bad < 10:
        print(*args)
for key in sorted(set(want) | set(got)):
    if key not in got:
        report("missing in Prometheus:", dict(key)); bad += 1
    elif key not in want:
        report("not in the input:", dict(key)); bad += 1
    elif float(got[key]) != want[key]:
        report("value differs for %s: input %r, Prometheus %s" % (dict(key), want[key], got[key])); bad += 1
fractions = sum(1 for v in want.values() if v != math.floor(v))
print("compared %d series (%d with fractions), %d bad" % (len(want), fractions, bad))
sys.exit(1 if bad or len(want) != 75 or fractions < 30 else 0)
PY
  echo "${output##*$'\n'}"
  assert_success
  assert_output_contains "compared 75 series"
}

@test "prometheus: distinctive values read back exactly (large, tiny, fractional, +Inf, NaN)" {
  run prom_value "kvtest_bytes{job=\"$JOB\",vm=\"a\"}"
  assert_output 123456789012
  run prom_value "kvtest_ratio{job=\"$JOB\",vm=\"a\"}"
  assert_output -0.000123456789
  run prom_value "kvtest_ops_total{job=\"$JOB\",vm=\"a\"}"
  assert_output 42.5
  run prom_value "kvtest_inf{job=\"$JOB\",vm=\"a\"}"
  assert_output +Inf
  run prom_value "kvtest_nan{job=\"$JOB\",vm=\"a\"}"
  assert_output NaN
}

@test "prometheus: label values with quotes, backslashes, newlines and UTF-8 read back exactly" {
  # Selected by the exact values (PromQL strings use Go escapes).
  run prom_value "kvtest_escaped_info{job=\"$JOB\",quote=\"say \\\"hi\\\"\",backslash=\"C:\\\\dir\\\\\",newline=\"line1\\nline2\",utf8=\"Grüße, 世界 🚀\"}"
  assert_output 1

  # And the label set read back equals the input's, byte for byte.
  local want
  want="$(grep '"kvtest_escaped_info"' "$E2E_TMP/fixture.ndjson" | jq -cS '.labels')"
  output="$(prom_query "kvtest_escaped_info{job=\"$JOB\"}" | jq -cS '.[] | .metric | del(.__name__, .job, .instance)')"
  assert_output "$want"
  [[ "$output" == *'"quote":"say \"hi\""'* && "$output" == *'"backslash":"C:\\dir\\"'* &&
     "$output" == *'"newline":"line1\nline2"'* && "$output" == *'"utf8":"Grüße, 世界 🚀"'* ]] ||
    flunk "unexpected labels: $output"
}

@test "prometheus: HELP, TYPE and UNIT metadata read back" {
  curl -sS --max-time 5 -H "Accept: $PROM_ACCEPT" -D "$TEST_TMP/headers" -o /dev/null \
    "http://127.0.0.1:$PROMFMT_PORT/metrics"
  local om=0
  grep -qi '^content-type: application/openmetrics-text' "$TEST_TMP/headers" && om=1

  output="$(prom_api /api/v1/metadata |
    jq -cS '[.data | to_entries[] | select(.key | startswith("kvtest_")) | {(.key): .value}] | add')"
  if [ "$om" = 1 ]; then
    # OpenMetrics: counters are named by family, units come through, untyped is unknown.
    assert_output "$(jq -cnS '{
      kvtest_bytes: [{type: "gauge", help: "A large integer.", unit: "bytes"}],
      kvtest_escaped_info: [{type: "gauge", help: "Label values with \"quotes\", back\\slashes and UTF-8.", unit: ""}],
      kvtest_inf: [{type: "unknown", help: "", unit: ""}],
      kvtest_nan: [{type: "gauge", help: "", unit: ""}],
      kvtest_ops: [{type: "counter", help: "A counter.", unit: ""}],
      kvtest_ratio: [{type: "gauge", help: "", unit: ""}]}')"
  else
    assert_output "$(jq -cnS '{
      kvtest_bytes: [{type: "gauge", help: "A large integer.", unit: ""}],
      kvtest_escaped_info: [{type: "gauge", help: "Label values with \"quotes\", back\\slashes and UTF-8.", unit: ""}],
      kvtest_inf: [{type: "untyped", help: "", unit: ""}],
      kvtest_nan: [{type: "gauge", help: "", unit: ""}],
      kvtest_ops_total: [{type: "counter", help: "A counter.", unit: ""}],
      kvtest_ratio: [{type: "gauge", help: "", unit: ""}]}')"
  fi
}

@test "prometheus: histogram_quantile works on a histogram kv-promfmt serves; _sum, _count and metadata read back" {
  # One series: rank 0.875 * 40 = 35 falls in (2, 5], which holds 20 of
  # them from 20 on: 2 + 3 * 15/20.
  run prom_value "histogram_quantile(0.875, kvhist_phase_transition_time_seconds_bucket{job=\"$JOB\",phase=\"Running\"})"
  assert_output 4.25
  # Both series summed by le: rank 0.875 * 50 = 43.75 falls in (10, 20],
  # which holds 5 from 40 on: 10 + 10 * 3.75/5.
  run prom_value "histogram_quantile(0.875, sum by (le) (kvhist_phase_transition_time_seconds_bucket{job=\"$JOB\"}))"
  assert_output 17.5
  run prom_value "sum(kvhist_phase_transition_time_seconds_sum{job=\"$JOB\"})"
  assert_output 350
  run prom_value "sum(kvhist_phase_transition_time_seconds_count{job=\"$JOB\"})"
  assert_output 50
  # Every bucket of KubeVirt's layout is a series, +Inf included.
  run prom_value "count(kvhist_phase_transition_time_seconds_bucket{job=\"$JOB\",phase=\"Running\"})"
  assert_output 19
  output="$(prom_api /api/v1/metadata --data-urlencode metric=kvhist_phase_transition_time_seconds | jq -c '[.data[][] | .type]')"
  assert_output '["histogram"]'
}
