#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2153,SC2154 # bats: each @test runs in a subshell; PROMFMT_IN comes from start_promfmt_server (helpers/common), $stderr from run
# kv-promfmt --listen: content negotiation, gzip, health and readiness,
# rendering once per snapshot, end of input, and a load run.

setup() {
  load helpers/common
  common_setup
}

teardown() {
  stop_promfmt_server
  common_teardown
}

url() { echo "http://127.0.0.1:$PROMFMT_PORT$1"; }

# Writes one snapshot of N VMs to the server's input.
feed() { kv-gen-samples --vms "${1:-2}" >&7; }

wait_ready() { wait_for 50 curl -sf "$(url /readyz)"; }

@test "before the first snapshot: /metrics and /readyz answer 503, /healthz 200" {
  start_promfmt_server
  run curl -s -o /dev/null -w '%{http_code}' "$(url /metrics)"
  assert_output 503
  run curl -s -w ' %{http_code}' "$(url /readyz)"
  assert_output "not ready: no complete snapshot has arrived yet
 503"
  run curl -s -w ' %{http_code}' "$(url /healthz)"
  assert_output "ok
 200"
}

@test "/metrics serves the snapshot as Prometheus text by default, with the right Content-Type" {
  start_promfmt_server --no-self-metrics
  feed 2
  wait_ready
  curl -s -D "$TEST_TMP/h" "$(url /metrics)" >"$TEST_TMP/body"
  grep -qi '^Content-Type: text/plain; version=0.0.4; charset=utf-8' "$TEST_TMP/h"
  kv-gen-samples --vms 2 | kv-promfmt >"$TEST_TMP/expected"
  cmp "$TEST_TMP/expected" "$TEST_TMP/body"
  promtool check metrics <"$TEST_TMP/body"
}

@test "content negotiation: OpenMetrics for Prometheus's Accept header, text for others" {
  start_promfmt_server
  feed 2
  wait_ready
  local prom3='application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1'
  curl -s -D "$TEST_TMP/h" -H "Accept: $prom3" "$(url /metrics)" >"$TEST_TMP/om"
  grep -qi '^Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8' "$TEST_TMP/h"
  tail -n 1 "$TEST_TMP/om" | grep -qx '# EOF'
  "$KV_ROOT/tests/helpers/check-openmetrics" "$TEST_TMP/om"

  local accept
  for accept in 'text/plain' '*/*' 'application/json' 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited'; do
    curl -s -D "$TEST_TMP/h" -H "Accept: $accept" "$(url /metrics)" >"$TEST_TMP/text"
    grep -qi '^Content-Type: text/plain; version=0.0.4; charset=utf-8' "$TEST_TMP/h" || flunk "Accept: $accept: $(cat "$TEST_TMP/h")"
  done
  promtool check metrics <"$TEST_TMP/text"
}

@test "histograms over HTTP: text by default, OpenMetrics for Prometheus, both what stdout prints" {
  start_promfmt_server --no-self-metrics
  local case="$KV_ROOT/tests/cases/kv-promfmt"
  cat "$case/histogram-openmetrics/input.ndjson" >&7
  wait_ready
  curl -s "$(url /metrics)" >"$TEST_TMP/text"
  kv-promfmt <"$case/histogram-openmetrics/input.ndjson" >"$TEST_TMP/want-text"
  assert_file_equals "$TEST_TMP/want-text" "$TEST_TMP/text"
  promtool check metrics <"$TEST_TMP/text"
  grep -qx 'kvtest_temperature_celsius_sum{room="cold"} -21.5' "$TEST_TMP/text"

  curl -s -H 'Accept: application/openmetrics-text;version=1.0.0' "$(url /metrics)" >"$TEST_TMP/om"
  kv-promfmt --format openmetrics <"$case/histogram-openmetrics/input.ndjson" >"$TEST_TMP/want-om"
  assert_file_equals "$TEST_TMP/want-om" "$TEST_TMP/om"
  "$KV_ROOT/tests/helpers/check-openmetrics" "$TEST_TMP/om"
  # OpenMetrics' canonical bounds (its parsers only insist on +Inf's).
  grep -qF 'le="1.0"' "$TEST_TMP/om"
  if grep -qF 'le="1"' "$TEST_TMP/om"; then flunk "OpenMetrics bound not canonical"; fi
  if grep -q '^kvtest_temperature_celsius_sum' "$TEST_TMP/om"; then flunk "OpenMetrics sum of negative observations"; fi
}

@test "gzip when accepted, the same bytes once decompressed; HEAD has no body" {
  start_promfmt_server
  feed 20
  wait_ready
  curl -s "$(url /metrics)" >"$TEST_TMP/plain"
  curl -s -D "$TEST_TMP/h" -H 'Accept-Encoding: gzip' "$(url /metrics)" >"$TEST_TMP/gz"
  grep -qi '^Content-Encoding: gzip' "$TEST_TMP/h"
  grep -qi '^Vary: Accept, Accept-Encoding' "$TEST_TMP/h"
  gzip -dc <"$TEST_TMP/gz" >"$TEST_TMP/unzipped"
  cmp "$TEST_TMP/plain" "$TEST_TMP/unzipped"
  [ "$(stat -c %s "$TEST_TMP/gz")" -lt "$(($(stat -c %s "$TEST_TMP/plain") / 4))" ]
  # A client that also takes br still gets our gzip, never a second encoding.
  curl -s -D "$TEST_TMP/h2" -H 'Accept-Encoding: br, gzip' "$(url /metrics)" >"$TEST_TMP/gz2"
  [ "$(grep -ci '^Content-Encoding' "$TEST_TMP/h2")" -eq 1 ]
  cmp "$TEST_TMP/gz" "$TEST_TMP/gz2"
  run curl -s -I "$(url /metrics)"
  assert_output_contains "200 OK"
  run curl -s -X HEAD -o "$TEST_TMP/head" "$(url /metrics)"
  [ ! -s "$TEST_TMP/head" ]
}

@test "other paths are 404; / is a landing page" {
  start_promfmt_server
  run curl -s -o /dev/null -w '%{http_code}' "$(url /nope)"
  assert_output 404
  run curl -s -o /dev/null -w '%{http_code}' "$(url /metrics/extra)"
  assert_output 404
  run curl -s "$(url /)"
  assert_output_contains 'href="/metrics"'
}

@test "other methods than GET and HEAD get 405 with Allow at once; the connection stays usable" {
  start_promfmt_server
  feed 1
  wait_ready
  local path method
  for path in /metrics /healthz /readyz /; do
    for method in POST PUT DELETE PATCH OPTIONS TRACE; do
      # -m 3: a POST without a body once waited for the 10 s read timeout.
      run curl -s -m 3 -X "$method" -D "$TEST_TMP/h" -o "$TEST_TMP/body" -w '%{http_code}' "$(url "$path")"
      [ "$output" = 405 ] || flunk "$method $path: $output"
      grep -qix 'Allow: GET, HEAD'$'\r' "$TEST_TMP/h" || flunk "$method $path: $(cat "$TEST_TMP/h")"
      grep -qx '405 method not allowed' "$TEST_TMP/body" || flunk "$method $path: $(cat "$TEST_TMP/body")"
    done
  done
  # Other paths stay 404 whatever the method.
  run curl -s -m 3 -X POST -o /dev/null -w '%{http_code}' "$(url /nope)"
  assert_output 404

  # Without a body, the next request goes on the same connection; with one,
  # which is never read, the client is told to close it and opens another.
  run curl -s -m 3 -X POST -o /dev/null -w '%{http_code} %{num_connects}\n' "$(url /metrics)" \
    --next -s -m 3 -o /dev/null -w '%{http_code} %{num_connects}\n' "$(url /metrics)"
  assert_output $'405 1\n200 0'
  run curl -s -m 3 -d 'a=b' -D "$TEST_TMP/h" -o /dev/null -w '%{http_code} %{num_connects}\n' "$(url /metrics)" \
    --next -s -m 3 -o /dev/null -w '%{http_code} %{num_connects}\n' "$(url /metrics)"
  assert_output $'405 1\n200 1'
  grep -qix 'Connection: close'$'\r' "$TEST_TMP/h" || flunk "$(cat "$TEST_TMP/h")"
  run curl -s -m 3 "$(url /metrics)"
  assert_output_contains 'kubevirt_vmi_memory_resident_bytes{name="vm-00000"'
}

@test "each snapshot is rendered once per format and encoding, however many scrapes" {
  start_promfmt_server --log-level debug
  feed 5
  wait_ready
  for _ in $(seq 20); do
    curl -s -o /dev/null "$(url /metrics)"
    curl -s -o /dev/null -H 'Accept-Encoding: gzip' -H 'Accept: application/openmetrics-text' "$(url /metrics)"
  done
  [ "$(grep -c 'rendered snapshot 1 as prometheus text ([0-9]' "$TEST_TMP/promfmt.log")" -eq 1 ]
  [ "$(grep -c 'rendered snapshot 1 as openmetrics ([0-9]' "$TEST_TMP/promfmt.log")" -eq 1 ]
  [ "$(grep -c 'rendered snapshot 1 as openmetrics (gzip)' "$TEST_TMP/promfmt.log")" -eq 1 ]
  [ "$(grep -c 'rendered snapshot' "$TEST_TMP/promfmt.log")" -eq 3 ]
}

@test "a new snapshot replaces the old one at once: a deleted VM's series are gone" {
  start_promfmt_server --no-self-metrics
  feed 3
  wait_ready
  run curl -s "$(url /metrics)"
  assert_output_contains 'name="vm-00002"'
  feed 2
  wait_for 50 bash -c "! curl -s '$(url /metrics)' | grep -q 'name=\"vm-00002\"'"
  run curl -s "$(url /metrics)"
  assert_output_contains 'name="vm-00001"'
}

@test "a half-written snapshot is never served" {
  start_promfmt_server --no-self-metrics
  feed 2
  wait_ready
  curl -s "$(url /metrics)" >"$TEST_TMP/before"
  # Samples without their end record: not published.
  kv-gen-samples --vms 5 | grep -v '"end"' >&7
  sleep 0.3
  curl -s "$(url /metrics)" >"$TEST_TMP/during"
  cmp "$TEST_TMP/before" "$TEST_TMP/during"
  echo '{"end":"x"}' >&7
  wait_for 50 bash -c "curl -s '$(url /metrics)' | grep -q 'name=\"vm-00004\"'"
}

@test "self-metrics are served with --listen" {
  start_promfmt_server
  feed 2
  echo 'not json' >&7
  feed 2
  wait_for 50 bash -c "curl -s '$(url /metrics)' | grep -q 'kv_promfmt_snapshots_published_total{input=\"$PROMFMT_IN\"} 2'"
  run curl -s "$(url /metrics)"
  assert_output_contains "kv_promfmt_lines_rejected_total{input=\"$PROMFMT_IN\",reason=\"invalid_json\"} 1"
  assert_output_contains "kv_promfmt_samples{input=\"$PROMFMT_IN\"} 50"
}

@test "/readyz fails once no snapshot arrived within --stale-after" {
  start_promfmt_server --stale-after 1s
  feed 1
  wait_ready
  wait_for 50 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$(url /readyz)')\" = 503 ]"
  run curl -s "$(url /readyz)"
  assert_output_contains "not ready: the last snapshot is"
  assert_output_contains "(--stale-after 1s)"
  feed 1
  wait_ready
}

@test "when every input ends, --listen exits 1 so a supervisor restarts it; --keep-serving stays" {
  kv-gen-samples --vms 1 >"$TEST_TMP/in.ndjson"
  run --separate-stderr kv-promfmt --listen 127.0.0.1:0 "$TEST_TMP/in.ndjson"
  assert_status 1
  [[ "$stderr" == *"every input ended; exiting"* ]] || flunk "$stderr"

  kv-promfmt --listen 127.0.0.1:0 --keep-serving "$TEST_TMP/in.ndjson" 2>"$TEST_TMP/log" &
  PROMFMT_PID=$!
  wait_for 50 grep -q 'serving the last snapshots' "$TEST_TMP/log"
  PROMFMT_PORT="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TEST_TMP/log")"
  run curl -s "$(url /metrics)"
  assert_output_contains 'kubevirt_vmi_memory_resident_bytes{name="vm-00000"'
  kill -TERM "$PROMFMT_PID"
  local rc=0
  wait "$PROMFMT_PID" || rc=$?
  PROMFMT_PID=
  [ "$rc" -eq 0 ]
}

@test "an address in use is a clear runtime failure" {
  start_promfmt_server
  run --separate-stderr kv-promfmt --listen "127.0.0.1:$PROMFMT_PORT" </dev/null
  assert_status 1
  [[ "$stderr" == *"cannot listen on 127.0.0.1:$PROMFMT_PORT"* ]] || flunk "$stderr"
}

@test "load: thousands of scrapes while snapshots keep replacing each other, none fails" {
  start_promfmt_server
  feed 100
  wait_ready
  kv-gen-samples --vms 100 --snapshots 0 --interval 0.05 >&7 &
  local feeder=$!
  run wrk -t 2 -c 8 -d 3s -H 'Accept-Encoding: gzip' "$(url /metrics)"
  kill "$feeder" 2>/dev/null || true
  wait "$feeder" 2>/dev/null || true
  echo "$output"
  assert_success
  refute_output_contains "Non-2xx"
  refute_output_contains "Socket errors"
  local requests
  requests="$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$output")"
  [ "$requests" -ge 1000 ] || flunk "only $requests requests"
}

@test "idle keep-alive connections neither starve new scrapes nor delay SIGTERM" {
  start_promfmt_server
  feed 2
  wait_ready
  # Twelve clients scrape once and then keep their connections open, idle.
  "$PYTHON3" - "$PROMFMT_PORT" >"$TEST_TMP/idle.log" 2>&1 <<'PY' &
import http.client, sys, time
conns = []
for _ in range(12):
    c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
    c.request("GET", "/metrics")
    c.getresponse().read()
    conns.append(c)
print("idle", len(conns), flush=True)
time.sleep(20)
PY
  local idle=$!
  wait_for 50 grep -q 'idle 12' "$TEST_TMP/idle.log"
  run curl -s -m 3 -o /dev/null -w '%{http_code}' "$(url /metrics)"
  assert_output 200
  local start=$SECONDS rc=0
  kill -TERM "$PROMFMT_PID"
  wait "$PROMFMT_PID" || rc=$?
  PROMFMT_PID=
  kill "$idle" 2>/dev/null || true
  wait "$idle" 2>/dev/null || true
  [ "$rc" -eq 0 ] || flunk "status $rc"
  [ $((SECONDS - start)) -le 3 ] || flunk "SIGTERM took $((SECONDS - start))s"
}
