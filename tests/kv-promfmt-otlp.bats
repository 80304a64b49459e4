#!/usr/bin/env bats
# shellcheck disable=SC2153,SC2154 # bats: PROMFMT_IN comes from start_promfmt_server (helpers/common), $stderr from run
# kv-promfmt and OTLP: --format otlp-json, and pushes to a test collector
# (tests/helpers/otlp-receiver.js) that decodes every request with the
# official OTLP definitions and is strict about the encoding. Faults come
# from the receiver's script: 503 with Retry-After, 429, a hang past the
# timeout, 400 with a message, a partial success, connection refused and a
# receiver that comes back; and TLS, the OTEL_* variables, request splitting.

setup_file() {
  load helpers/common
  # The official definitions, installed by npm into the build directory.
  KV_OTLP_NODE_MODULES="$("$KV_ROOT/tests/helpers/otlp-receiver-setup" "$KV_BUILD/test-deps/otlp-receiver")"
  export KV_OTLP_NODE_MODULES
}

setup() {
  load helpers/common
  common_setup
  RECEIVER_PID=
}

teardown() {
  stop_promfmt_server
  stop_receiver
  common_teardown
}

# Starts the receiver: start_receiver [--port N] [--script ACTIONS] [TLS options].
# Sets RECEIVER_PORT, RECEIVER_LOG (one JSON line per request) and OTLP_URL.
start_receiver() {
  RECEIVER_LOG="$TEST_TMP/received.ndjson"
  : >"$RECEIVER_LOG"
  : >"$TEST_TMP/receiver.err"
  node "$KV_ROOT/tests/helpers/otlp-receiver.js" --log "$RECEIVER_LOG" "$@" 2>"$TEST_TMP/receiver.err" &
  RECEIVER_PID=$!
  wait_for 100 grep -q 'listening on' "$TEST_TMP/receiver.err"
  RECEIVER_PORT="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TEST_TMP/receiver.err")"
  OTLP_URL="http://127.0.0.1:$RECEIVER_PORT/v1/metrics"
}

stop_receiver() {
  if [ -n "${RECEIVER_PID:-}" ]; then
    kill "$RECEIVER_PID" 2>/dev/null || true
    wait "$RECEIVER_PID" 2>/dev/null || true
    RECEIVER_PID=
  fi
}

# Requests the receiver got; and those it decoded and accepted (action ok).
received() { wc -l <"$RECEIVER_LOG"; }
accepted() { jq -s '[.[] | select(.action == "ok" and (.error | not))] | length' "$RECEIVER_LOG"; }
# No request failed to decode.
assert_all_decoded() {
  run jq -r 'select(.error) | .error' "$RECEIVER_LOG"
  [ -z "$output" ] || flunk "the receiver could not decode a request: $output"
}

# Writes one snapshot of N VMs to the server's input (FED counts them).
FED=0
feed() {
  kv-gen-samples --vms "$1" >&7
  FED=$((FED + 1))
}

# kv-promfmt publishes its self-metrics with each snapshot, as they are at
# that moment. To read the exporter's counts as they are now: feed one more
# snapshot (a probe) and keep /metrics once it serves it. The probe is
# pushed too, after its self-metrics were taken.
probe() {
  feed 1
  wait_for 50 bash -c "curl -s 'http://127.0.0.1:$PROMFMT_PORT/metrics' | grep -q '^kv_promfmt_snapshots_published_total{input=\"$PROMFMT_IN\"} $FED\$'"
  curl -s "http://127.0.0.1:$PROMFMT_PORT/metrics" >"$TEST_TMP/self.txt"
}
# A value from the last probe: self_metric 'name{labels}'.
self_metric() { awk -v m="$1" '$1 == m {print $2}' "$TEST_TMP/self.txt"; }

# Each accepted request's data points as "metric{attrs} value", sorted.
points_of() {  # jq-filter-for-requests file
  jq -r "$1"' | .resourceMetrics[].scopeMetrics[].metrics[] | .name as $m
    | (.sum // .gauge).dataPoints[]
    | "\($m){\([.attributes[]? | "\(.key)=\(.value.stringValue)"] | join(","))} \(.asDouble)"' "$2" | sort
}

@test "every expected --format otlp-json output decodes strictly with the official OTLP definitions" {
  local n=0 c
  for c in "$KV_ROOT"/tests/cases/kv-promfmt/otlp-*/; do
    run node "$KV_ROOT/tests/helpers/otlp-receiver.js" --decode "$c/expected.out"
    [ "$status" -eq 0 ] || flunk "$c: $output"
    n=$((n + 1))
  done
  [ "$n" -ge 3 ] || flunk "only $n OTLP golden cases"
  # ... and the check catches what it should: snake_case keys, an int64 as a
  # number, an enum by name.
  local bad
  for bad in 's/"isMonotonic"/"is_monotonic"/' 's/"timeUnixNano":"\([0-9]*\)"/"timeUnixNano":\1/' \
             's/"aggregationTemporality":2/"aggregationTemporality":"AGGREGATION_TEMPORALITY_CUMULATIVE"/'; do
    sed "$bad" "$KV_ROOT/tests/cases/kv-promfmt/otlp-json-mapping/expected.out" >"$TEST_TMP/bad.json"
    run node "$KV_ROOT/tests/helpers/otlp-receiver.js" --decode "$TEST_TMP/bad.json"
    [ "$status" -eq 1 ] || flunk "not caught: $bad"
  done
}

@test "--format otlp-json writes one request per snapshot, one per line" {
  kv-gen-samples --vms 3 --snapshots 4 >"$TEST_TMP/in.ndjson"
  run kv-promfmt --format otlp-json <"$TEST_TMP/in.ndjson"
  assert_success
  [ "$(printf '%s\n' "$output" | wc -l)" -eq 4 ]
  printf '%s\n' "$output" >"$TEST_TMP/out.ndjson"
  node "$KV_ROOT/tests/helpers/otlp-receiver.js" --decode "$TEST_TMP/out.ndjson" >/dev/null
}

@test "http/protobuf push: the collector decodes exactly what --format otlp-json prints" {
  start_receiver
  kv-gen-samples --vms 3 >"$TEST_TMP/in.ndjson"
  KV_NOW=1763856000000 kv-promfmt --format otlp-json --otlp-resource service.name=t \
    <"$TEST_TMP/in.ndjson" | jq -c -S . >"$TEST_TMP/want"
  KV_NOW=1763856000000 run --separate-stderr kv-promfmt --otlp-endpoint "$OTLP_URL" \
    --no-self-metrics --otlp-resource service.name=t <"$TEST_TMP/in.ndjson"
  assert_success
  [ "$(received)" -eq 1 ]
  assert_all_decoded
  jq -c -S '.request' "$RECEIVER_LOG" >"$TEST_TMP/got"
  assert_file_equals "$TEST_TMP/want" "$TEST_TMP/got"
  run jq -r '.headers | "\(.["content-type"]) \(.["content-encoding"]) \(.["user-agent"])"' "$RECEIVER_LOG"
  [[ "$output" == "application/x-protobuf gzip kv-promfmt/"* ]] || flunk "headers: $output"
}

@test "http/json push, gzip or not, carries the same request" {
  start_receiver
  kv-gen-samples --vms 2 >"$TEST_TMP/in.ndjson"
  KV_NOW=1763856000000 kv-promfmt --format otlp-json <"$TEST_TMP/in.ndjson" | jq -c -S . >"$TEST_TMP/want"
  local compression
  for compression in gzip none; do
    KV_NOW=1763856000000 kv-promfmt --otlp-endpoint "$OTLP_URL" --otlp-protocol http/json \
      --otlp-compression "$compression" --no-self-metrics <"$TEST_TMP/in.ndjson"
  done
  [ "$(received)" -eq 2 ]
  assert_all_decoded
  run jq -r '.headers | "\(.["content-type"]) \(.["content-encoding"])"' "$RECEIVER_LOG"
  assert_output "application/json gzip
application/json null"
  jq -c -S '.request' "$RECEIVER_LOG" >"$TEST_TMP/got"
  assert_file_equals <(cat "$TEST_TMP/want" "$TEST_TMP/want") "$TEST_TMP/got"
}

@test "the mapping, field by field: resource, scope, names, types, temporality, start times, units, attributes, timestamps" {
  start_receiver
  cat >"$TEST_TMP/in.ndjson" <<'EOF'
{"name":"kubevirt_vmi_cpu_usage_seconds_total","type":"counter","help":"CPU time.","unit":"seconds","labels":{"namespace":"ns1","name":"vm1"},"value":12.5,"ts":1763855990123}
{"name":"kubevirt_vmi_memory_resident_bytes","type":"gauge","help":"Resident memory.","unit":"bytes","labels":{"name":"vm1","namespace":"ns1"},"value":4096}
{"name":"kv_test_untyped","value":"+Inf"}
{"end":"test"}
EOF
  OTEL_RESOURCE_ATTRIBUTES='service.name=from-attributes,k8s.node.name=node%2C01,k8s.cluster.name=env' \
    OTEL_SERVICE_NAME=from-service-name KV_NOW=1763856000000 \
    kv-promfmt --otlp-endpoint "$OTLP_URL" --no-self-metrics --otlp-resource k8s.cluster.name=flag \
    <"$TEST_TMP/in.ndjson"
  assert_all_decoded
  local r='.request.resourceMetrics[0]'
  run jq -c "$r.resource.attributes" "$RECEIVER_LOG"
  assert_output '[{"key":"k8s.cluster.name","value":{"stringValue":"flag"}},{"key":"k8s.node.name","value":{"stringValue":"node,01"}},{"key":"service.name","value":{"stringValue":"from-service-name"}}]'
  run jq -c "$r.scopeMetrics | length, .[0].scope" "$RECEIVER_LOG"
  assert_output '1
{"name":"kv-promfmt"}'
  local m="$r.scopeMetrics[0].metrics"
  run jq -c "[${m}[].name]" "$RECEIVER_LOG"
  assert_output '["kubevirt_vmi_cpu_usage_seconds_total","kubevirt_vmi_memory_resident_bytes","kv_test_untyped"]'
  # A counter: a monotonic cumulative Sum, starting at its first point's time.
  run jq -c "${m}[0] | [.description, .unit, .sum.aggregationTemporality, .sum.isMonotonic, .metadata]" "$RECEIVER_LOG"
  assert_output '["CPU time.","s",2,true,[{"key":"prometheus.type","value":{"stringValue":"counter"}}]]'
  run jq -c "${m}[0].sum.dataPoints" "$RECEIVER_LOG"
  assert_output '[{"startTimeUnixNano":"1763855990123000000","timeUnixNano":"1763855990123000000","asDouble":12.5,"attributes":[{"key":"name","value":{"stringValue":"vm1"}},{"key":"namespace","value":{"stringValue":"ns1"}}]}]'
  # A gauge: no start time; no sample timestamp, so the time of the snapshot.
  run jq -c "${m}[1] | [.unit, (.gauge.dataPoints[0] | .startTimeUnixNano, .timeUnixNano, .asDouble)]" "$RECEIVER_LOG"
  assert_output '["By",null,"1763856000000000000",4096]'
  # Untyped: a Gauge too, "unknown" to Prometheus; +Inf as the JSON mapping writes it.
  run jq -c "${m}[2] | [has(\"sum\"), .metadata[0].value.stringValue, .gauge.dataPoints[0].asDouble]" "$RECEIVER_LOG"
  assert_output '[false,"unknown","Infinity"]'
}

@test "counter start times, resets and staleness markers are pushed as --format otlp-json prints them" {
  start_receiver
  local case="$KV_ROOT/tests/cases/kv-promfmt/otlp-json-counter-lifecycle"
  KV_NOW=1763856000000 run kv-promfmt --otlp-endpoint "$OTLP_URL" --otlp-resource service.name=lifecycle \
    --no-self-metrics <"$case/input.ndjson"
  assert_success
  [ "$(received)" -eq 5 ]
  assert_all_decoded
  jq -c -S '.request' "$RECEIVER_LOG" >"$TEST_TMP/got"
  jq -c -S . "$case/expected.out" >"$TEST_TMP/want"
  assert_file_equals "$TEST_TMP/want" "$TEST_TMP/got"
  # Staleness markers: sent once, with the flag and no value.
  run jq -c '[.request.resourceMetrics[0].scopeMetrics[0].metrics[] | (.sum // .gauge).dataPoints[] | select(.flags)
    | [.flags, has("asDouble")]] | length' "$RECEIVER_LOG"
  assert_output '0
2
0
1
2'
}

@test "histograms are pushed as --format otlp-json prints them, in protobuf and JSON: bounds, counts, sums, starts, markers" {
  start_receiver
  local case="$KV_ROOT/tests/cases/kv-promfmt/otlp-json-histogram" protocol
  for protocol in http/protobuf http/json; do
    KV_NOW=1763856000000 run kv-promfmt --otlp-endpoint "$OTLP_URL" --otlp-protocol "$protocol" \
      --otlp-resource service.name=histograms --no-self-metrics <"$case/input.ndjson"
    assert_success
  done
  [ "$(received)" -eq 6 ]
  assert_all_decoded
  jq -c -S '.request' "$RECEIVER_LOG" >"$TEST_TMP/got"
  jq -c -S . "$case/expected.out" "$case/expected.out" >"$TEST_TMP/want"
  assert_file_equals "$TEST_TMP/want" "$TEST_TMP/got"
  # What the official definitions decoded from the protobuf of the first snapshot.
  local m='.request.resourceMetrics[0].scopeMetrics[0].metrics'
  run jq -c "select(.seq == 1) | ${m}[] | [.name, .unit, .histogram.aggregationTemporality,
    (.histogram.dataPoints[] | [.count, .sum, .bucketCounts, .explicitBounds, .startTimeUnixNano == .timeUnixNano])]" "$RECEIVER_LOG"
  assert_output '["kv_test_delta_celsius","Cel",2,["2",null,["1","0","1"],[-1,1],true]]
["kv_test_wait_seconds","s",2,["3",4.25,["1","1","1"],[0.5,1],true],["2",7,["0","0","2"],[0.5,1],true]]'
  run jq -r '.headers["content-type"]' "$RECEIVER_LOG"
  assert_output 'application/x-protobuf
application/x-protobuf
application/x-protobuf
application/json
application/json
application/json'
}

@test "OTEL_EXPORTER_OTLP_* variables: endpoint, protocol, headers, compression, as the specification defines them" {
  start_receiver --script 'ok,ok,ok,ok'
  kv-gen-samples --vms 1 >"$TEST_TMP/in.ndjson"
  # The general endpoint is a base: /v1/metrics goes below it.
  OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$RECEIVER_PORT" OTEL_EXPORTER_OTLP_PROTOCOL=http/json \
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=HTTP/PROTOBUF OTEL_EXPORTER_OTLP_COMPRESSION=none \
    OTEL_EXPORTER_OTLP_HEADERS='x-tenant = acme , authorization=Bearer%20abc' \
    kv-promfmt --otlp <"$TEST_TMP/in.ndjson"
  # The metrics endpoint wins over the general one; the command line over both.
  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:1 OTEL_EXPORTER_OTLP_METRICS_ENDPOINT="$OTLP_URL" \
    OTEL_EXPORTER_OTLP_METRICS_HEADERS='x-tenant=metrics' OTEL_EXPORTER_OTLP_HEADERS='x-tenant=general' \
    kv-promfmt --otlp --otlp-header X-Tenant=flag --otlp-protocol http/json <"$TEST_TMP/in.ndjson"
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=http://127.0.0.1:1/v1/metrics \
    kv-promfmt --otlp-endpoint "$OTLP_URL" <"$TEST_TMP/in.ndjson"
  assert_all_decoded
  run jq -r '[.path, .headers["content-type"], .headers["content-encoding"], .headers["x-tenant"], .headers.authorization] | join(" ")' "$RECEIVER_LOG"
  assert_output "/v1/metrics application/x-protobuf  acme Bearer abc
/v1/metrics application/json gzip flag 
/v1/metrics application/x-protobuf gzip  "
  # The metrics endpoint is used as it is: no /v1/metrics added (the
  # receiver refuses the root path with 400, which is not retried).
  run --separate-stderr env OTEL_EXPORTER_OTLP_METRICS_ENDPOINT="http://127.0.0.1:$RECEIVER_PORT" \
    kv-promfmt --otlp <"$TEST_TMP/in.ndjson"
  assert_status 1
  run jq -r 'select(.seq == 4) | .path' "$RECEIVER_LOG"
  assert_output "/"
}

@test "a value of an OTEL_* variable that is not valid is warned about and ignored" {
  start_receiver
  kv-gen-samples --vms 1 >"$TEST_TMP/in.ndjson"
  OTEL_EXPORTER_OTLP_TIMEOUT=soon OTEL_EXPORTER_OTLP_PROTOCOL=grpc OTEL_RESOURCE_ATTRIBUTES='novalue' \
    OTEL_EXPORTER_OTLP_METRICS_COMPRESSION=zstd \
    run --separate-stderr kv-promfmt --otlp-endpoint "$OTLP_URL" <"$TEST_TMP/in.ndjson"
  assert_success
  [[ "$stderr" == *'OTEL_EXPORTER_OTLP_TIMEOUT="soon" is not a number of milliseconds; ignored'* ]] || flunk "$stderr"
  [[ "$stderr" == *'OTEL_EXPORTER_OTLP_PROTOCOL="grpc" is not a supported protocol'* ]] || flunk "$stderr"
  [[ "$stderr" == *'OTEL_RESOURCE_ATTRIBUTES="novalue" is not a list of key=value pairs; ignored'* ]] || flunk "$stderr"
  [[ "$stderr" == *'OTEL_EXPORTER_OTLP_METRICS_COMPRESSION="zstd" is not a compression'* ]] || flunk "$stderr"
  run jq -r '[.headers["content-type"], .headers["content-encoding"], (.request.resourceMetrics[0].resource.attributes | map(.key) | join(","))] | join(" ")' "$RECEIVER_LOG"
  assert_output "application/x-protobuf gzip service.name"
}

@test "usage errors: OTLP options without a push, malformed URLs, headers and resources" {
  local args argv
  for args in "--otlp-header a=b" "--otlp-timeout 1s" "--otlp-queue-size 3" \
              "--otlp-resource a=b" "--otlp-endpoint ftp://x/" "--otlp-endpoint localhost:4318" \
              "--otlp --otlp-header bad" "--otlp --otlp-header a:b=c" "--otlp --otlp-resource =x" \
              "--otlp --otlp-timeout soon" "--otlp --otlp-protocol grpc" "--otlp --otlp-queue-size 0"; do
    read -ra argv <<<"$args"
    run --separate-stderr kv-promfmt "${argv[@]}" </dev/null
    [ "$status" -eq 2 ] || flunk "kv-promfmt $args: status $status, $stderr"
    [[ "$stderr" == *"Try 'kv-promfmt --help'"* ]] || flunk "kv-promfmt $args: $stderr"
  done
  run --separate-stderr kv-promfmt --otlp-header a=b </dev/null
  [[ "$stderr" == *"--otlp-header needs --otlp or --otlp-endpoint"* ]] || flunk "$stderr"
}

@test "503 with Retry-After: retried when the server says, then delivered; the counts say so" {
  start_receiver --script '503:1'
  start_promfmt_server --otlp-endpoint "$OTLP_URL"
  feed 1
  wait_for 100 grep -q 'delivered to .* after 1 failed attempt$' "$TEST_TMP/promfmt.log"
  [ "$(received)" -eq 2 ]
  assert_all_decoded
  grep -q 'HTTP 503: unavailable (test script: 503:1); retrying in 1s (Retry-After)' "$TEST_TMP/promfmt.log" ||
    flunk "$(cat "$TEST_TMP/promfmt.log")"
  # Both requests carried the same snapshot.
  run jq -c -S '.request' "$RECEIVER_LOG"
  [ "$(printf '%s\n' "$output" | sort -u | wc -l)" -eq 1 ]
  probe
  [ "$(self_metric kv_promfmt_otlp_exported_snapshots_total)" = 1 ]
  [ "$(self_metric kv_promfmt_otlp_retries_total)" = 1 ]
  [ "$(self_metric 'kv_promfmt_otlp_failed_snapshots_total{reason="rejected"}')" = 0 ]
  [ "$(self_metric 'kv_promfmt_otlp_failed_snapshots_total{reason="retries_exhausted"}')" = 0 ]
  [ "$(self_metric kv_promfmt_otlp_dropped_snapshots_total)" = 0 ]
  [ "$(self_metric kv_promfmt_otlp_queue_snapshots)" = 0 ]
  [ "$(self_metric kv_promfmt_otlp_sent_bytes_total)" -gt 0 ]
}

@test "a connection closed without an answer, then 429 without Retry-After: retried with backoff, then delivered" {
  start_receiver --script 'close,429'
  start_promfmt_server --otlp-endpoint "$OTLP_URL"
  feed 1
  wait_for 150 grep -q 'delivered to .* after 2 failed attempts$' "$TEST_TMP/promfmt.log"
  [ "$(received)" -eq 3 ]
  grep -q 'Empty reply from server; retrying in [0-9ms]*$' "$TEST_TMP/promfmt.log" || flunk "$(cat "$TEST_TMP/promfmt.log")"
  grep -q 'HTTP 429: .*; retrying in [0-9ms]*$' "$TEST_TMP/promfmt.log" || flunk "$(cat "$TEST_TMP/promfmt.log")"
  probe
  [ "$(self_metric kv_promfmt_otlp_retries_total)" = 2 ]
  [ "$(self_metric kv_promfmt_otlp_exported_snapshots_total)" = 1 ]
}

@test "a collector that hangs past --otlp-timeout: the request is abandoned and retried" {
  start_receiver --script 'hang:4'
  start_promfmt_server --otlp-endpoint "$OTLP_URL" --otlp-timeout 1s
  feed 1
  wait_for 150 grep -q 'delivered to .* after 1 failed attempt$' "$TEST_TMP/promfmt.log"
  [ "$(received)" -eq 2 ]
  grep -qi 'timed out' "$TEST_TMP/promfmt.log" || flunk "$(cat "$TEST_TMP/promfmt.log")"
  probe
  [ "$(self_metric kv_promfmt_otlp_retries_total)" = 1 ]
  [ "$(self_metric kv_promfmt_otlp_exported_snapshots_total)" = 1 ]
}

@test "400 with a message: logged with the server's message, counted, not retried" {
  start_receiver --script '400:metric kv_x is not allowed here'
  start_promfmt_server --otlp-endpoint "$OTLP_URL" --log-level debug
  feed 1
  wait_for 100 grep -q 'snapshot 1 not delivered whole (rejected)' "$TEST_TMP/promfmt.log"
  grep -q "HTTP 400: metric kv_x is not allowed here; not retried" "$TEST_TMP/promfmt.log" ||
    flunk "$(cat "$TEST_TMP/promfmt.log")"
  # The next snapshot (two VMs) is the next request: the first was not retried.
  feed 2
  wait_for 100 grep -q 'snapshot 2 delivered' "$TEST_TMP/promfmt.log"
  [ "$(received)" -eq 2 ]
  run jq -r 'select(.seq == 2) | [.request.resourceMetrics[0].scopeMetrics[0].metrics[]
    | select(.name == "kubevirt_vmi_memory_resident_bytes") | .gauge.dataPoints[]] | length' "$RECEIVER_LOG"
  assert_output 2
  probe
  [ "$(self_metric 'kv_promfmt_otlp_failed_snapshots_total{reason="rejected"}')" = 1 ]
  [ "$(self_metric kv_promfmt_otlp_exported_snapshots_total)" = 1 ]
  [ "$(self_metric kv_promfmt_otlp_retries_total)" = 0 ]
}

@test "a partial success is logged and its rejected points counted, not retried" {
  start_receiver --script 'partial:3:three points were too old'
  start_promfmt_server --otlp-endpoint "$OTLP_URL" --otlp-protocol http/json --log-level debug
  feed 1
  wait_for 100 grep -q 'snapshot 1 delivered' "$TEST_TMP/promfmt.log"
  [ "$(received)" -eq 1 ]
  grep -q 'rejected 3 data points: three points were too old' "$TEST_TMP/promfmt.log"
  probe
  [ "$(self_metric kv_promfmt_otlp_rejected_points_total)" = 3 ]
  [ "$(self_metric kv_promfmt_otlp_exported_snapshots_total)" = 1 ]
}

@test "collector absent, then back: /metrics keeps serving, the queue keeps the newest, all of it is delivered in order" {
  local port vms
  port="$(free_port)"
  start_promfmt_server --otlp-endpoint "http://127.0.0.1:$port/v1/metrics" --otlp-queue-size 3 --log-level debug
  for vms in 1 2 3 4 5; do
    feed "$vms"
    # Every snapshot is served at once, whatever the exporter is doing.
    wait_for 50 bash -c "curl -s -m 2 'http://127.0.0.1:$PROMFMT_PORT/metrics' | grep -q 'kv_promfmt_samples{input=\"$PROMFMT_IN\"} $((vms * 25))'"
  done
  wait_for 100 grep -q "Couldn't connect" "$TEST_TMP/promfmt.log"
  start_receiver --port "$port"
  # Retries back off up to 30 s apart: wait long enough for the next one.
  wait_for 450 grep -q 'snapshot 5 delivered' "$TEST_TMP/promfmt.log"
  assert_all_decoded
  local delivered
  delivered="$(accepted)"
  probe
  local exported dropped
  exported="$(self_metric kv_promfmt_otlp_exported_snapshots_total)"
  dropped="$(self_metric kv_promfmt_otlp_dropped_snapshots_total)"
  [ "$exported" -eq "$delivered" ] || flunk "exported $exported, the receiver accepted $delivered"
  [ $((exported + dropped)) -eq 5 ] || flunk "exported $exported + dropped $dropped"
  [ "$exported" -ge 3 ] || flunk "the queue kept only $exported"
  [ "$(self_metric kv_promfmt_otlp_queue_snapshots)" = 0 ]
  # The newest snapshots, oldest first: VM counts rise to 5.
  run jq -r 'select(.seq <= '"$delivered"') | [.request.resourceMetrics[0].scopeMetrics[0].metrics[]
    | select(.name == "kubevirt_vmi_memory_resident_bytes") | .gauge.dataPoints[]] | length' "$RECEIVER_LOG"
  [ "$(printf '%s\n' "$output" | tail -n 1)" -eq 5 ]
  [ "$(printf '%s\n' "$output" | sort -n -u)" = "$output" ] || flunk "not in order: $output"
}

@test "a hung collector holds up neither the input nor /metrics; SIGTERM still exits" {
  start_receiver --script 'hang:60'
  start_promfmt_server --otlp-endpoint "$OTLP_URL" --otlp-timeout 50s
  feed 1
  wait_for 50 bash -c "[ \"\$(wc -l <'$RECEIVER_LOG')\" -eq 1 ]"
  # The request hangs; snapshots go on being read and served.
  feed 2
  feed 3
  wait_for 50 bash -c "curl -s -m 2 'http://127.0.0.1:$PROMFMT_PORT/metrics' | grep -q 'kv_promfmt_samples{input=\"$PROMFMT_IN\"} 75'"
  run curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PROMFMT_PORT/readyz"
  assert_output 200
  probe
  [ "$(self_metric kv_promfmt_otlp_queue_snapshots)" = 3 ]
  [ "$(self_metric kv_promfmt_otlp_exported_snapshots_total)" = 0 ]
  kill -TERM "$PROMFMT_PID"
  wait_for 150 bash -c "! kill -0 $PROMFMT_PID 2>/dev/null"
  local rc=0
  wait "$PROMFMT_PID" || rc=$?
  PROMFMT_PID=
  [ "$rc" -eq 0 ] || flunk "status $rc"
}

@test "a one-shot push to an endpoint that never answers gives up after --otlp-retry-max-time and exits 1" {
  local port
  port="$(free_port)"
  kv-gen-samples --vms 1 >"$TEST_TMP/in.ndjson"
  run --separate-stderr kv-promfmt --otlp-endpoint "http://127.0.0.1:$port/v1/metrics" \
    --otlp-retry-max-time 2s <"$TEST_TMP/in.ndjson"
  assert_status 1
  [[ "$stderr" == *"gave up on a snapshot after"*"(--otlp-retry-max-time 2s)"* ]] || flunk "$stderr"
  [[ "$stderr" == *"the last snapshot was not delivered to http://127.0.0.1:$port/v1/metrics"* ]] || flunk "$stderr"
  [[ "$stderr" == *"OTLP: 0 snapshots delivered, 1 not delivered (rejected 0, retries exhausted 1, too large 0), 0 dropped from the queue"* ]] || flunk "$stderr"
}

@test "a snapshot larger than --otlp-max-request-size goes in several requests, all of it" {
  start_receiver
  kv-gen-samples --vms 20 >"$TEST_TMP/in.ndjson"
  KV_NOW=1763856000000 kv-promfmt --format otlp-json <"$TEST_TMP/in.ndjson" >"$TEST_TMP/whole.ndjson"
  KV_NOW=1763856000000 kv-promfmt --otlp-endpoint "$OTLP_URL" --otlp-max-request-size 4096 \
    --otlp-compression none --no-self-metrics <"$TEST_TMP/in.ndjson"
  assert_all_decoded
  [ "$(received)" -gt 10 ] || flunk "only $(received) requests"
  run jq -s '[.[] | select(.decodedBytes > 4096)] | length' "$RECEIVER_LOG"
  assert_output 0
  points_of '.request' "$RECEIVER_LOG" >"$TEST_TMP/split"
  points_of '.' "$TEST_TMP/whole.ndjson" >"$TEST_TMP/whole"
  [ "$(wc -l <"$TEST_TMP/whole")" -eq 500 ]
  assert_file_equals "$TEST_TMP/whole" "$TEST_TMP/split"
}

@test "self-metrics go along with a push, kv_promfmt_otlp_* included, unless --no-self-metrics" {
  start_receiver
  kv-gen-samples --vms 1 >"$TEST_TMP/in.ndjson"
  kv-promfmt --otlp-endpoint "$OTLP_URL" <"$TEST_TMP/in.ndjson"
  kv-promfmt --otlp-endpoint "$OTLP_URL" --no-self-metrics <"$TEST_TMP/in.ndjson"
  run jq -c '[.request.resourceMetrics[0].scopeMetrics[0].metrics[].name | select(startswith("kv_promfmt_otlp_"))]' "$RECEIVER_LOG"
  assert_output '["kv_promfmt_otlp_dropped_snapshots_total","kv_promfmt_otlp_exported_snapshots_total","kv_promfmt_otlp_failed_snapshots_total","kv_promfmt_otlp_queue_snapshots","kv_promfmt_otlp_rejected_points_total","kv_promfmt_otlp_retries_total","kv_promfmt_otlp_sent_bytes_total"]
[]'
}

@test "SIGTERM cuts the retries of a one-shot push short" {
  local port
  port="$(free_port)"
  kv-gen-samples --vms 1 >"$TEST_TMP/in.ndjson"
  kv-promfmt --otlp-endpoint "http://127.0.0.1:$port/v1/metrics" <"$TEST_TMP/in.ndjson" 2>"$TEST_TMP/log" &
  local pid=$!
  wait_for 100 grep -q 'retrying in' "$TEST_TMP/log"
  kill -TERM "$pid"
  wait_for 150 bash -c "! kill -0 $pid 2>/dev/null"
  local rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || flunk "status $rc: $(cat "$TEST_TMP/log")"
  grep -q 'received Terminated while pushing the last snapshots; exiting' "$TEST_TMP/log"
  grep -q 'gave up on a snapshot after .* (exiting)' "$TEST_TMP/log"
}

@test "https: the server is verified with --otlp-certificate; mutual TLS with a client certificate" {
  cd "$TEST_TMP"
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 2 -subj /CN=kv-test-ca 2>/dev/null
  openssl req "${ec[@]}" -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\n' >san.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext 2>/dev/null
  openssl req "${ec[@]}" -keyout client.key -out client.csr -subj /CN=kv-promfmt 2>/dev/null
  openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 2>/dev/null
  kv-gen-samples --vms 1 >in.ndjson

  start_receiver --tls-cert server.pem --tls-key server.key
  local url="https://127.0.0.1:$RECEIVER_PORT/v1/metrics"
  run kv-promfmt --otlp-endpoint "$url" --otlp-certificate ca.pem <in.ndjson
  assert_success
  # An unknown CA: the TLS handshake fails, and that is reported.
  run --separate-stderr kv-promfmt --otlp-endpoint "$url" --otlp-retry-max-time 0 <in.ndjson
  assert_status 1
  [[ "$stderr" == *"certificate"* ]] || flunk "$stderr"
  [ "$(accepted)" -eq 1 ]
  stop_receiver

  start_receiver --tls-cert server.pem --tls-key server.key --tls-client-ca ca.pem
  url="https://127.0.0.1:$RECEIVER_PORT/v1/metrics"
  OTEL_EXPORTER_OTLP_CERTIFICATE=ca.pem run kv-promfmt --otlp-endpoint "$url" \
    --otlp-client-certificate client.pem --otlp-client-key client.key <in.ndjson
  assert_success
  [ "$(accepted)" -eq 1 ]
  # Without the client certificate the server refuses the connection.
  run kv-promfmt --otlp-endpoint "$url" --otlp-certificate ca.pem --otlp-retry-max-time 0 <in.ndjson
  assert_status 1
  [ "$(accepted)" -eq 1 ]
}
