#!/usr/bin/env bats
# kv-watch against the Kubernetes API simulator (tests/apisim), which kubectl
# proves faithful in tests/apisim.bats: lists, watches, faults, auth.

setup_file() {
  load helpers/common
  SIM_DIR="$(mktemp -d "${BATS_TMPDIR:-/tmp}/kv-watch-sim.XXXXXX")"
  export SIM_DIR
  kube-apisim --state-dir "$SIM_DIR" --bookmark-interval 1s >"$SIM_DIR/sim.log" 2>&1 &
  echo $! >"$SIM_DIR/sim.pid"
  wait_for 100 test -f "$SIM_DIR/ready"
  API_URL="$(cat "$SIM_DIR/api-url")" CTL="$(cat "$SIM_DIR/control-url")"
  export API_URL CTL
}

teardown_file() {
  kill "$(cat "$SIM_DIR/sim.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$SIM_DIR"
}

setup() {
  load helpers/common
  common_setup
  unset KUBECONFIG KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT
  NS="t${BATS_TEST_NUMBER}"
  ctl DELETE /faults >/dev/null
}

teardown() {
  [ -n "${WATCH_PID:-}" ] && kill "$WATCH_PID" 2>/dev/null && wait "$WATCH_PID" 2>/dev/null
  common_teardown
}

ctl() {  # METHOD PATH [JSON]
  curl -sf -X "$1" "$CTL$2" ${3:+-d "$3"}
}

vmi() {  # name [phase]
  printf '{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachineInstance","metadata":{"name":"%s","namespace":"%s","labels":{"kubevirt.io/nodeName":"node01"}},"status":{"phase":"%s"}}' "$1" "$NS" "${2:-Running}"
}

put_vmi() { ctl POST /objects "$(vmi "$@")" >/dev/null; }
del_vmi() { ctl DELETE "/objects/virtualmachineinstances/$NS/$1" >/dev/null; }

# The simulator's VMIs of this test's namespace as "name rv" lines.
sim_state() {
  ctl GET /objects/virtualmachineinstances | jq -r --arg ns "$NS" \
    '.items[] | select(.metadata.namespace == $ns) | "\(.metadata.name) \(.metadata.resourceVersion)"' | sort
}

# What kv-watch's events imply: the last event of each object, deletes removed.
event_state() {
  jq -rs 'reduce .[] as $e ({}; if $e.type == "DELETED" then del(.[$e.object.metadata.name])
          else .[$e.object.metadata.name] = $e.object.metadata.resourceVersion end)
          | to_entries[] | "\(.key) \(.value)"' "$TEST_TMP/events" | sort
}

states_agree() { [ "$(sim_state)" = "$(event_state)" ]; }

start_watch() {  # extra kv-watch args
  kv-watch --kubeconfig "$SIM_DIR/kubeconfig" -n "$NS" --events "$@" vmis >"$TEST_TMP/events" 2>"$TEST_TMP/log" &
  WATCH_PID=$!
}

# A metrics-mode kv-watch writing snapshots to a file; last_snapshot prints
# the newest complete one through kv-promfmt.
start_metrics() {
  kv-watch --kubeconfig "$SIM_DIR/kubeconfig" -n "$NS" --interval 200ms "$@" vmis >"$TEST_TMP/samples" 2>"$TEST_TMP/log" &
  WATCH_PID=$!
}
last_snapshot() {
  awk '{ buf = buf $0 "\n" } /^\{"end"/ { last = buf; buf = "" } END { printf "%s", last }' "$TEST_TMP/samples" |
    kv-promfmt 2>/dev/null
}
metric() {  # name{labels} exact line prefix → value
  last_snapshot | awk -v k="$1" '$1 == k { print $2 }'
}
metric_is() { [ "$(metric "$1")" = "$2" ]; }
metric_at_least() { local v; v="$(metric "$1")"; [ -n "$v" ] && [ "${v%.*}" -ge "$2" ]; }

@test "kv-watch: --once --events lists what kubectl lists, as ADDED" {
  for i in 1 2 3 4 5; do put_vmi "vm$i"; done
  run --separate-stderr kv-watch --kubeconfig "$SIM_DIR/kubeconfig" -n "$NS" --events --once --page-size 2 vmis
  assert_success
  # Three pages of at most two.
  n="$(ctl GET /requests | jq --arg ns "$NS" '[.requests[] | select(.verb == "list" and (.path | contains("/namespaces/" + $ns + "/")))] | length')"
  [ "$n" -eq 3 ] || flunk "$n list requests"
  mine="$(printf '%s\n' "$output" | jq -r '"\(.type) \(.resource) \(.object.metadata.name) \(.object.metadata.resourceVersion)"' | sort)"
  theirs="$(KUBECONFIG="$SIM_DIR/kubeconfig" kubectl get vmis -n "$NS" -o json |
    jq -r '.items[] | "ADDED kubevirt.io/v1/virtualmachineinstances \(.metadata.name) \(.metadata.resourceVersion)"' | sort)"
  [ "$mine" = "$theirs" ] || flunk "kv-watch: $mine"$'\n'"kubectl: $theirs"
  [ "$(printf '%s\n' "$output" | wc -l)" -eq 5 ]
}

@test "kv-watch: the watch shows the same events as kubectl --watch --output-watch-events" {
  put_vmi a Pending
  start_watch
  KUBECONFIG="$SIM_DIR/kubeconfig" kubectl get vmis -n "$NS" --watch --output-watch-events -o json >"$TEST_TMP/kubectl.json" 2>/dev/null &
  kubectl_pid=$!
  wait_for 100 grep -q '"name":"a"' "$TEST_TMP/events"
  wait_for 100 grep -q '"name":"a"' "$TEST_TMP/kubectl.json"
  put_vmi a Running
  put_vmi b Scheduling
  del_vmi a
  put_vmi b Running
  wait_for 100 states_agree
  wait_for 100 test "$(jq -s length "$TEST_TMP/events")" -eq 5
  sleep 0.5
  kill "$kubectl_pid"; wait "$kubectl_pid" 2>/dev/null || true
  mine="$(jq -r '"\(.type) \(.object.metadata.name) \(.object.metadata.resourceVersion) \(.object.status.phase)"' "$TEST_TMP/events")"
  theirs="$(jq -r '"\(.type) \(.object.metadata.name) \(.object.metadata.resourceVersion) \(.object.status.phase)"' "$TEST_TMP/kubectl.json")"
  [ "$mine" = "$theirs" ] || flunk "kv-watch:"$'\n'"$mine"$'\n'"kubectl:"$'\n'"$theirs"
}

@test "kv-watch: a delete during a 410 gap is found by the relist" {
  put_vmi keep; put_vmi gone
  start_watch --log-level debug
  wait_for 100 states_agree
  # Hold the reconnect for 2 s (503 + Retry-After), delete and compact
  # meanwhile: the resumed watch is too old, the relist misses "gone".
  ctl POST /faults '{"fault":"unavailable","verb":"watch","retryAfterSeconds":2}' >/dev/null
  ctl POST /faults '{"fault":"drop"}' >/dev/null
  sleep 0.5
  del_vmi gone
  put_vmi keep Paused
  ctl POST /compact '{}' >/dev/null
  wait_for 100 states_agree
  run jq -r 'select(.object.metadata.name == "gone") | .type' "$TEST_TMP/events"
  assert_output $'ADDED\nDELETED'
  grep -q 'relisting' "$TEST_TMP/log" || flunk "$(cat "$TEST_TMP/log")"
}

@test "kv-watch: 410 as an ERROR event and as an HTTP status both lead to one relist each" {
  put_vmi a
  start_metrics
  wait_for 100 metric_is 'kv_watch_synced{resource="kubevirt.io/v1/virtualmachineinstances"}' 1
  ctl POST /faults '{"fault":"gone-event"}' >/dev/null
  wait_for 100 metric_is 'kv_watch_relists_total{resource="kubevirt.io/v1/virtualmachineinstances"}' 1
  ctl POST /faults '{"fault":"gone","verb":"watch"}' >/dev/null
  ctl POST /faults '{"fault":"drop"}' >/dev/null
  wait_for 100 metric_is 'kv_watch_relists_total{resource="kubevirt.io/v1/virtualmachineinstances"}' 2
  metric_is 'kv_watch_lists_total{resource="kubevirt.io/v1/virtualmachineinstances"}' 3
  metric_at_least 'kv_watch_watch_restarts_total{reason="expired",resource="kubevirt.io/v1/virtualmachineinstances"}' 2
  metric_is 'kv_watch_events_total{resource="kubevirt.io/v1/virtualmachineinstances",type="ERROR"}' 1
  metric_is 'kv_watch_cached_objects{resource="kubevirt.io/v1/virtualmachineinstances"}' 1
}

@test "kv-watch: 429 and 503 with Retry-After, and 500, are retried and counted" {
  put_vmi a
  start_metrics
  wait_for 100 metric_is 'kv_watch_synced{resource="kubevirt.io/v1/virtualmachineinstances"}' 1
  ctl POST /faults '{"fault":"throttle","verb":"watch","retryAfterSeconds":1}' >/dev/null
  ctl POST /faults '{"fault":"drop"}' >/dev/null
  wait_for 100 metric_is 'kv_watch_watch_restarts_total{reason="throttled",resource="kubevirt.io/v1/virtualmachineinstances"}' 1
  ctl POST /faults '{"fault":"error","verb":"watch","count":2}' >/dev/null
  ctl POST /faults '{"fault":"drop"}' >/dev/null
  wait_for 150 metric_is 'kv_watch_watch_restarts_total{reason="server_error",resource="kubevirt.io/v1/virtualmachineinstances"}' 2
  put_vmi b
  wait_for 100 metric_is 'kv_watch_cached_objects{resource="kubevirt.io/v1/virtualmachineinstances"}' 2
  grep -q 'HTTP 429: Too many requests, please try again later.; retrying in 1000 ms' "$TEST_TMP/log" || flunk "$(cat "$TEST_TMP/log")"
  # A failed list is retried too.
  ctl POST /faults '{"fault":"unavailable","verb":"list","retryAfterSeconds":1}' >/dev/null
  ctl POST /faults '{"fault":"gone-event"}' >/dev/null
  wait_for 100 metric_is 'kv_watch_list_failures_total{resource="kubevirt.io/v1/virtualmachineinstances"}' 1
  wait_for 100 metric_is 'kv_watch_relists_total{resource="kubevirt.io/v1/virtualmachineinstances"}' 1
}

@test "kv-watch: a server that hangs is given up after --request-timeout" {
  put_vmi a
  start_metrics --request-timeout 1s
  wait_for 100 metric_is 'kv_watch_synced{resource="kubevirt.io/v1/virtualmachineinstances"}' 1
  ctl POST /faults '{"fault":"hang","verb":"watch"}' >/dev/null
  ctl POST /faults '{"fault":"drop"}' >/dev/null
  wait_for 100 metric_is 'kv_watch_watch_restarts_total{reason="hung",resource="kubevirt.io/v1/virtualmachineinstances"}' 1
  put_vmi b
  wait_for 100 metric_is 'kv_watch_cached_objects{resource="kubevirt.io/v1/virtualmachineinstances"}' 2
  grep -q "no answer from $API_URL within 1000 ms" "$TEST_TMP/log" || flunk "$(cat "$TEST_TMP/log")"
}

@test "kv-watch: a malformed event and a reset connection lose nothing" {
  put_vmi a
  start_watch
  wait_for 100 states_agree
  ctl POST /faults '{"fault":"malformed"}' >/dev/null
  put_vmi b
  wait_for 100 states_agree
  ctl POST /faults '{"fault":"drop","mode":"reset"}' >/dev/null
  put_vmi c
  del_vmi a
  wait_for 100 states_agree
  grep -q 'malformed watch event' "$TEST_TMP/log" || flunk "$(cat "$TEST_TMP/log")"
}

@test "kv-watch --events: a reader that goes away ends it at once, also when no event comes" {
  # $NS has no objects here: nothing is ever written that could fail.
  run bash -c "timeout 20 kv-watch --kubeconfig '$SIM_DIR/kubeconfig' -n '$NS-idle' --events vmis | true; echo \${PIPESTATUS[0]}"
  assert_success
  [ "$output" = 0 ] || flunk "kv-watch exited with $output (124: it kept running)"
}

@test "kv-watch: slow answers and an expired continue token still give the whole list" {
  for i in 1 2 3 4 5 6 7; do put_vmi "vm$i"; done
  ctl POST /faults '{"fault":"slow","verb":"list","delay":"300ms","count":2}' >/dev/null
  ctl POST /faults '{"fault":"expire-continue"}' >/dev/null
  run --separate-stderr kv-watch --kubeconfig "$SIM_DIR/kubeconfig" -n "$NS" --events --once --page-size 3 vmis
  assert_success
  [ "$(printf '%s\n' "$output" | jq -r .object.metadata.name | sort -u | wc -l)" -eq 7 ] || flunk "$output"
  # shellcheck disable=SC2154  # set by run --separate-stderr
  [[ "$stderr" == *"continue token expired; listing again from the start"* ]] || flunk "$stderr"
}

@test "kv-watch: a rotated token is read again from --token-file after 401" {
  put_vmi a
  cp "$SIM_DIR/token" "$TEST_TMP/token"
  kv-watch --server "$API_URL" --ca-file "$SIM_DIR/ca.crt" --token-file "$TEST_TMP/token" \
    -n "$NS" --interval 200ms vmis >"$TEST_TMP/samples" 2>"$TEST_TMP/log" &
  WATCH_PID=$!
  wait_for 100 metric_is 'kv_watch_synced{resource="kubevirt.io/v1/virtualmachineinstances"}' 1
  old="$(cat "$TEST_TMP/token")"
  ctl POST /token/rotate '{}' >/dev/null
  ctl POST /faults '{"fault":"drop"}' >/dev/null
  wait_for 100 metric_at_least 'kv_watch_watch_restarts_total{reason="unauthorized",resource="kubevirt.io/v1/virtualmachineinstances"}' 1
  cp "$SIM_DIR/token" "$TEST_TMP/token.new" && mv "$TEST_TMP/token.new" "$TEST_TMP/token"
  put_vmi b
  wait_for 150 metric_is 'kv_watch_cached_objects{resource="kubevirt.io/v1/virtualmachineinstances"}' 2
  new="$(cat "$TEST_TMP/token")"
  ! grep -qF -e "$old" -e "$new" "$TEST_TMP/log" "$TEST_TMP/samples" || flunk "a token reached the output or the log"
}

@test "kv-watch: a 403 is reported, the other resources go on" {
  put_vmi a
  ctl POST /objects "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachine\",\"metadata\":{\"name\":\"vm1\",\"namespace\":\"$NS\"}}" >/dev/null
  ctl POST /tokens '{"token":"tok-9f8e7d","user":"limited-user","forbidden":["virtualmachineinstances"]}' >/dev/null
  printf 'tok-9f8e7d\n' >"$TEST_TMP/token"
  run --separate-stderr kv-watch --server "$API_URL" --ca-file "$SIM_DIR/ca.crt" --token-file "$TEST_TMP/token" \
    -n "$NS" --events --once vmis vms
  assert_status 1
  [[ "$stderr" == *"kubevirt.io/v1/virtualmachineinstances in namespace $NS: HTTP 403: "*"forbidden"* ]] || flunk "$stderr"
  [ "$(printf '%s\n' "$output" | jq -r '"\(.type) \(.object.metadata.name)"')" = "ADDED vm1" ] || flunk "$output"
  ! grep -q tok-9f8e7d <<<"$stderr$output" || flunk "the token is in the output or the log"
}

@test "kv-watch: in-cluster service account files" {
  put_vmi a
  mkdir -p "$TEST_TMP/sa"
  cp "$SIM_DIR/token" "$TEST_TMP/sa/token"; cp "$SIM_DIR/ca.crt" "$TEST_TMP/sa/ca.crt"; echo "$NS" >"$TEST_TMP/sa/namespace"
  port="${API_URL##*:}"
  run --separate-stderr env KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT="$port" \
    KV_SERVICE_ACCOUNT_DIR="$TEST_TMP/sa" kv-watch -n "$NS" --events --once vmis
  assert_success
  [ "$(printf '%s\n' "$output" | jq -r .object.metadata.name)" = a ] || flunk "$output"
}

@test "kv-watch: kubeconfig with a client certificate, with inline CA data, and \$KUBECONFIG" {
  put_vmi a
  run --separate-stderr kv-watch --kubeconfig "$SIM_DIR/kubeconfig-clientcert" -n "$NS" --events --once vmis
  assert_success
  [ "$(printf '%s\n' "$output" | jq -r .object.metadata.name)" = a ] || flunk "$output $stderr"
  ca="$(base64 -w0 <"$SIM_DIR/ca.crt")"
  cat >"$TEST_TMP/config" <<YAML
apiVersion: v1
kind: Config
current-context: sim
clusters:
- name: sim
  cluster: {server: "$API_URL", certificate-authority-data: "$ca"}
users:
- name: u
  user: {tokenFile: "$SIM_DIR/token"}
contexts:
- name: sim
  context: {cluster: sim, user: u, namespace: "$NS"}
YAML
  run --separate-stderr env KUBECONFIG="$TEST_TMP/missing:$TEST_TMP/config" kv-watch -n "$NS" --events --once vmis
  assert_success
  [ "$(printf '%s\n' "$output" | jq -r .object.metadata.name)" = a ] || flunk "$output $stderr"
}

@test "kv-watch: a wrong CA is refused with a clear error" {
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TEST_TMP/k" -out "$TEST_TMP/other-ca.crt" -days 1 -subj /CN=other 2>/dev/null
  run --separate-stderr kv-watch --server "$API_URL" --ca-file "$TEST_TMP/other-ca.crt" --token-file "$SIM_DIR/token" --once vmis
  assert_status 1
  [[ "$stderr" == *"$API_URL: TLS failed: SSL certificate problem"*"check the CA (--ca-file) and the client certificate"* ]] || flunk "$stderr"
  # Without any CA the system store does not know the simulator's either.
  run --separate-stderr kv-watch --server "$API_URL" --token-file "$SIM_DIR/token" --once vmis
  assert_status 1
}

@test "kv-watch: behind kubectl proxy, --server http:// alone" {
  put_vmi a
  port="$(free_port)"
  KUBECONFIG="$SIM_DIR/kubeconfig" kubectl proxy --port "$port" --address 127.0.0.1 >"$TEST_TMP/proxy.log" 2>&1 &
  proxy_pid=$!
  wait_for 100 curl -sf "http://127.0.0.1:$port/api"
  run --separate-stderr kv-watch --server "http://127.0.0.1:$port" -n "$NS" --events --once vmis
  kill "$proxy_pid"; wait "$proxy_pid" 2>/dev/null || true
  assert_success
  [ "$(printf '%s\n' "$output" | jq -r .object.metadata.name)" = a ] || flunk "$output $stderr"
}

@test "kv-watch: unknown resources are looked up in discovery, else a usage error" {
  run --separate-stderr kv-watch --kubeconfig "$SIM_DIR/kubeconfig" --events --once virtualmachineclusterinstancetypes
  assert_success
  run --separate-stderr kv-watch --kubeconfig "$SIM_DIR/kubeconfig" --events --once frobnicators
  assert_status 2
  [[ "$stderr" == *'unknown resource "frobnicators": the API server does not serve it'* ]] || flunk "$stderr"
}

@test "kv-watch: while the API is away the cache stays and snapshots go on" {
  put_vmi a; put_vmi b
  start_metrics --request-timeout 1s
  wait_for 100 metric_is 'kv_watch_cached_objects{resource="kubevirt.io/v1/virtualmachineinstances"}' 2
  ctl POST /faults '{"fault":"hang","count":1000}' >/dev/null
  ctl POST /faults '{"fault":"drop"}' >/dev/null
  sleep 3
  metric_is 'kv_watch_cached_objects{resource="kubevirt.io/v1/virtualmachineinstances"}' 2
  age="$(metric 'kv_watch_last_contact_age_seconds{resource="kubevirt.io/v1/virtualmachineinstances"}')"
  [ "${age%.*}" -ge 2 ] || flunk "age $age"
  ctl DELETE /faults >/dev/null
  put_vmi c
  wait_for 150 metric_is 'kv_watch_cached_objects{resource="kubevirt.io/v1/virtualmachineinstances"}' 3
}

write_vmi_config() {
  cat >"$TEST_TMP/config.yaml" <<'YAML'
kind: CustomResourceStateMetrics
spec:
  resources:
  - groupVersionKind: {group: kubevirt.io, version: v1, kind: VirtualMachineInstance}
    metricNamePrefix: kvtest_vmi
    labelsFromPath:
      name: [metadata, name]
      namespace: [metadata, namespace]
    metrics:
    - name: phase
      help: "The VMI's phase, one series per phase."
      each:
        type: StateSet
        stateSet: {labelName: phase, path: [status, phase], list: [Pending, Scheduling, Running, Failed]}
    - name: node_info
      help: "The node of a VMI."
      each: {type: Info, info: {labelsFromPath: {node: [metadata, labels, "kubevirt.io/nodeName"]}}}
YAML
}

@test "kv-watch --config: snapshots follow creates, updates, deletes and a relist, and pass promtool" {
  write_vmi_config
  put_vmi a Pending; put_vmi b Running
  kv-watch --kubeconfig "$SIM_DIR/kubeconfig" -n "$NS" --config "$TEST_TMP/config.yaml" --interval 200ms \
    >"$TEST_TMP/samples" 2>"$TEST_TMP/log" &
  WATCH_PID=$!
  wait_for 100 metric_is "kvtest_vmi_phase{customresource_group=\"kubevirt.io\",customresource_kind=\"VirtualMachineInstance\",customresource_version=\"v1\",name=\"a\",namespace=\"$NS\",phase=\"Pending\"}" 1
  last_snapshot >"$TEST_TMP/snap.prom"
  promtool check metrics <"$TEST_TMP/snap.prom" || flunk "$(cat "$TEST_TMP/snap.prom")"
  [ "$(grep -c '^kvtest_vmi_phase{' "$TEST_TMP/snap.prom")" -eq 8 ] || flunk "$(cat "$TEST_TMP/snap.prom")"
  grep -q "^kvtest_vmi_node_info{.*name=\"b\",namespace=\"$NS\",node=\"node01\"} 1$" "$TEST_TMP/snap.prom"
  put_vmi a Running
  wait_for 100 metric_is "kvtest_vmi_phase{customresource_group=\"kubevirt.io\",customresource_kind=\"VirtualMachineInstance\",customresource_version=\"v1\",name=\"a\",namespace=\"$NS\",phase=\"Running\"}" 1
  # Deleted during a 410 gap: gone from the snapshot after the relist.
  ctl POST /faults '{"fault":"unavailable","verb":"watch","retryAfterSeconds":2}' >/dev/null
  ctl POST /faults '{"fault":"drop"}' >/dev/null
  sleep 0.5
  del_vmi b
  ctl POST /compact '{}' >/dev/null
  no_b() { ! last_snapshot | grep -q "name=\"b\""; }
  wait_for 150 no_b
  metric_is 'kv_watch_relists_total{resource="kubevirt.io/v1/virtualmachineinstances"}' 1
}

@test "kv-watch --config: a config naming a kind the server does not serve is an error" {
  cat >"$TEST_TMP/config.yaml" <<'YAML'
spec:
  resources:
  - groupVersionKind: {group: example.com, version: v1, kind: Widget}
    metrics:
    - name: x
      each: {type: Gauge, gauge: {path: [spec, x]}}
YAML
  run --separate-stderr kv-watch --kubeconfig "$SIM_DIR/kubeconfig" --config "$TEST_TMP/config.yaml" --once
  assert_status 1
  [[ "$stderr" == *"config.yaml:3: resource 1 (Widget): no resource of kind Widget in example.com/v1 is served by the API server"* ]] || flunk "$stderr"
}

@test "kv-watch --config: version and kind wildcards are resolved from discovery, as kube-state-metrics does" {
  for kind in VirtualMachineInstancetype VirtualMachinePreference; do
    ctl POST /objects "{\"apiVersion\":\"instancetype.kubevirt.io/v1beta1\",\"kind\":\"$kind\",\"metadata\":{\"name\":\"w-$kind\",\"namespace\":\"$NS\"}}" >/dev/null
  done
  cat >"$TEST_TMP/config.yaml" <<'YAML'
spec:
  resources:
  - groupVersionKind: {group: instancetype.kubevirt.io, version: "*", kind: "*"}
    labelsFromPath: {name: [metadata, name]}
    metrics:
    - name: object_info
      help: "Objects of instancetype.kubevirt.io"
      each: {type: Info, info: {labelsFromPath: {namespace: [metadata, namespace]}}}
  - groupVersionKind: {group: nothing.example.com, version: "*", kind: "*"}
    metrics:
    - name: never
      each: {type: Info, info: {labelsFromPath: {name: [metadata, name]}}}
YAML
  run --separate-stderr kv-watch --kubeconfig "$SIM_DIR/kubeconfig" -n "$NS" --config "$TEST_TMP/config.yaml" --once
  assert_status 0
  # The simulator serves four kinds in instancetype.kubevirt.io/v1beta1: all are watched, two have objects here.
  [ "$(grep '"name":"kv_watch_synced"' <<<"$output" | grep -c '"resource":"instancetype.kubevirt.io/v1beta1/')" -eq 4 ] ||
    flunk "$output"
  for kind in VirtualMachineInstancetype VirtualMachinePreference; do
    grep -q "\"customresource_kind\":\"$kind\",\"customresource_version\":\"v1beta1\",\"name\":\"w-$kind\",\"namespace\":\"$NS\"" <<<"$output" ||
      flunk "no series for $kind: $output"
  done
  [ "$(grep -c '"name":"kube_customresource_object_info"' <<<"$output")" -eq 2 ] || flunk "$output"
  [ "$(grep '"name":"kube_customresource_object_info"' <<<"$output" | grep -c '"help"')" -eq 1 ] ||
    flunk "one family, one help: $output"
  [[ "$stderr" == *'no served resource of group "nothing.example.com" matches version "*" and kind "*"'* ]] || flunk "$stderr"
}

@test "kv-watch: with --total-shards 3 every object is in exactly one shard" {
  for i in $(seq 1 15); do put_vmi "vm$i"; done
  for shard in 0 1 2; do
    kv-watch --kubeconfig "$SIM_DIR/kubeconfig" -n "$NS" --events --once --shard "$shard" --total-shards 3 vmis |
      jq -r .object.metadata.name >"$TEST_TMP/shard$shard"
  done
  all="$(cat "$TEST_TMP"/shard* | sort)"
  [ "$all" = "$(for i in $(seq 1 15); do echo "vm$i"; done | sort)" ] || flunk "union: $all"
  for shard in 0 1 2; do [ -s "$TEST_TMP/shard$shard" ] || flunk "shard $shard is empty"; done
  run --separate-stderr kv-watch --kubeconfig "$SIM_DIR/kubeconfig" --once --shard 3 --total-shards 3 vmis
  assert_status 2
}

@test "kv-watch: --exclude-namespaces leaves those namespaces out on the server" {
  put_vmi a
  NS="$NS-x" put_vmi b
  run --separate-stderr kv-watch --kubeconfig "$SIM_DIR/kubeconfig" --events --once --exclude-namespaces "$NS-x,other" vmis
  assert_success
  # (jq -s: jq 1.6's -e looks only at the last input's result.)
  printf '%s\n' "$output" | jq -se --arg ns "$NS" 'any(.[]; .object.metadata.namespace == $ns and .object.metadata.name == "a")' >/dev/null ||
    flunk "a is missing: $output"
  printf '%s\n' "$output" | jq -se --arg ns "$NS-x" 'all(.[]; .object.metadata.namespace != $ns)' >/dev/null ||
    flunk "the excluded namespace is there: $output"
  n="$(ctl GET /requests | jq '[.requests[] | select(.verb == "list" and (.query | contains("metadata.namespace%21%3D")))] | length')"
  [ "$n" -ge 1 ] || flunk "no field selector was sent"
}

# Pods in namespaces of this test and a node, for the kube-state config
# (pods and deployments/daemon sets namespaced, nodes cluster-scoped).
put_pod() {  # namespace name [phase]
  ctl POST /objects "$(printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"%s"},"spec":{"nodeName":"%s"},"status":{"phase":"%s","conditions":[{"type":"Ready","status":"True"}]}}' \
    "$2" "$1" "$NS-node" "${3:-Running}")" >/dev/null
}
put_node() {
  ctl POST /objects "$(printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s"},"status":{"allocatable":{"cpu":"4","memory":"8Gi"},"conditions":[{"type":"Ready","status":"True"}]}}' "$NS-node")" >/dev/null
}
@test "kv-watch --events: listed objects carry kind and apiVersion, as kubectl's watch output does" {
  put_pod "$NS" p1
  put_vmi v1
  run --separate-stderr kv-watch --kubeconfig "$SIM_DIR/kubeconfig" -n "$NS" --events --once pods vmis
  assert_success
  [ "$(printf '%s\n' "$output" | jq -r '"\(.object.kind) \(.object.apiVersion)"' | sort | tr '\n' ,)" = "Pod v1,VirtualMachineInstance kubevirt.io/v1," ] ||
    flunk "$output"
  # Put first, as the server writes them; the rest of the object unchanged.
  [ "$(printf '%s\n' "$output" | jq -r 'select(.object.kind == "Pod") | .object | keys_unsorted[0:3] | join(",")')" = "kind,apiVersion,metadata" ] ||
    flunk "$output"
}

# The samples of a kv-watch output without its self-metrics, without help
# (the first sample of a family carries it), in their order.
config_samples() {
  jq -c 'select(.name and (.name | startswith("kv_watch_") | not)) | {name, type, labels, value}'
}
# The distinct paths of the simulator's requests of one verb, sorted.
request_paths() {  # verb
  ctl GET "/requests?verb=$1" | jq -r '.requests[].path' | sort -u
}
# The paths of the kube-state config's resources, namespaced in each of the arguments.
kube_state_paths() {  # namespace...
  local ns
  {
    echo /api/v1/nodes
    for ns in "$@"; do
      echo "/api/v1/namespaces/$ns/pods"
      echo "/api/v1/namespaces/$ns/persistentvolumeclaims"
      echo "/apis/apps/v1/namespaces/$ns/deployments"
      echo "/apis/apps/v1/namespaces/$ns/daemonsets"
    done
  } | sort
}

@test "kv-watch --namespaces: a list per namespace for namespaced resources, nodes cluster-wide; the unrestricted series of those namespaces" {
  put_node
  for ns in "$NS-a" "$NS-b" "$NS-c"; do put_pod "$ns" web; put_pod "$ns" batch Succeeded; done
  ctl DELETE /requests >/dev/null
  run --separate-stderr kv-watch --kubeconfig "$SIM_DIR/kubeconfig" --config kube-state --once --namespaces "$NS-a,$NS-b"
  assert_success
  scoped="$(printf '%s\n' "$output" | config_samples)"
  [ "$(request_paths list)" = "$(kube_state_paths "$NS-a" "$NS-b")" ] || flunk "$(request_paths list)"
  run --separate-stderr kv-watch --kubeconfig "$SIM_DIR/kubeconfig" --config kube-state --once
  assert_success
  whole="$(printf '%s\n' "$output" | config_samples)"
  grep -q "\"namespace\":\"$NS-c\"" <<<"$whole" || flunk "the unrestricted output lacks $NS-c"
  grep -q "\"node\":\"$NS-node\"" <<<"$whole" || flunk "the unrestricted output lacks the node"
  # Golden: the unrestricted series of those namespaces and of cluster-scoped objects.
  expected="$(jq -c --arg a "$NS-a" --arg b "$NS-b" 'select(.labels.namespace | . == null or . == $a or . == $b)' <<<"$whole")"
  [ "$scoped" = "$expected" ] || flunk "$(diff <(echo "$expected") <(echo "$scoped"))"
  # -n is a one-namespace --namespaces; with --exclude-namespaces the listed
  # namespaces that are not excluded, as kube-state-metrics does.
  ctl DELETE /requests >/dev/null
  run --separate-stderr kv-watch --kubeconfig "$SIM_DIR/kubeconfig" --config kube-state --once \
    -n "$NS-b" --namespaces "$NS-a" --exclude-namespaces "$NS-b"
  assert_success
  [ "$(request_paths list)" = "$(kube_state_paths "$NS-a")" ] || flunk "$(request_paths list)"
  [ "$(printf '%s\n' "$output" | config_samples)" = "$(jq -c --arg a "$NS-a" 'select(.labels.namespace | . == null or . == $a)' <<<"$whole")" ] ||
    flunk "$output"
}

@test "kv-watch --namespaces: watches only those namespaces, one set of self-metrics per resource" {
  put_node
  put_pod "$NS-a" one; put_pod "$NS-b" two
  ctl DELETE /requests >/dev/null
  kv-watch --kubeconfig "$SIM_DIR/kubeconfig" --config kube-state --namespaces "$NS-a" --namespaces "$NS-b" \
    --interval 200ms >"$TEST_TMP/samples" 2>"$TEST_TMP/log" &
  WATCH_PID=$!
  wait_for 100 metric_is 'kv_watch_synced{resource="v1/pods"}' 1
  wait_for 100 metric_is 'kv_watch_synced{resource="v1/nodes"}' 1
  metric_is 'kv_watch_cached_objects{resource="v1/pods"}' 2
  metric_is 'kv_watch_lists_total{resource="v1/pods"}' 2
  metric_is 'kv_watch_lists_total{resource="v1/nodes"}' 1
  # A pod of a third namespace, then one of a watched namespace: the second
  # shows, the first never does (a cluster-wide watch would show it first).
  put_pod "$NS-c" intruder
  put_pod "$NS-a" late
  shows_late() { last_snapshot | grep -q 'pod="late"'; }
  wait_for 100 shows_late
  ! last_snapshot | grep -q 'pod="intruder"' || flunk "$(last_snapshot | grep intruder)"
  metric_is 'kv_watch_cached_objects{resource="v1/pods"}' 3
  metric_is "kube_pod_status_phase{namespace=\"$NS-a\",phase=\"Running\",pod=\"late\",uid=\"$(ctl GET "/objects/pods/$NS-a/late" | jq -r .metadata.uid)\"}" 1
  # No duplicate series: each self-metric once per resource in a snapshot.
  awk '{ buf = buf $0 "\n" } /^\{"end"/ { last = buf; buf = "" } END { printf "%s", last }' "$TEST_TMP/samples" |
    jq -r 'select(.name) | "\(.name) \(.labels)"' | sort | uniq -d >"$TEST_TMP/dups"
  [ ! -s "$TEST_TMP/dups" ] || flunk "$(cat "$TEST_TMP/dups")"
  [ "$(request_paths watch)" = "$(kube_state_paths "$NS-a" "$NS-b")" ] || flunk "$(request_paths watch)"
  [ "$(request_paths list)" = "$(kube_state_paths "$NS-a" "$NS-b")" ] || flunk "$(request_paths list)"
}

@test "kv-watch --resources: only those of the config's resources are listed; the unrestricted series of them" {
  put_node
  put_pod "$NS" web
  ctl DELETE /requests >/dev/null
  run --separate-stderr kv-watch --kubeconfig "$SIM_DIR/kubeconfig" --config kube-state --once --resources po
  assert_success
  picked="$(printf '%s\n' "$output" | config_samples)"
  [ "$(request_paths list)" = /api/v1/pods ] || flunk "$(request_paths list)"
  # Only the picked resource's self-metrics.
  [ "$(printf '%s\n' "$output" | jq -r 'select(.name == "kv_watch_synced") | .labels.resource')" = v1/pods ] || flunk "$output"
  run --separate-stderr kv-watch --kubeconfig "$SIM_DIR/kubeconfig" --config kube-state --once
  assert_success
  whole="$(printf '%s\n' "$output" | config_samples)"
  grep -q '"name":"kube_node_' <<<"$whole" || flunk "no node series at all"
  [ "$picked" = "$(grep '"name":"kube_pod_' <<<"$whole")" ] || flunk "$(diff <(grep '"name":"kube_pod_' <<<"$whole") <(echo "$picked"))"
  run --separate-stderr kv-watch --kubeconfig "$SIM_DIR/kubeconfig" --config kube-state --once --resources pods,nodes
  assert_success
  [ "$(printf '%s\n' "$output" | jq -r 'select(.name == "kv_watch_synced") | .labels.resource' | sort | xargs)" = "v1/nodes v1/pods" ] || flunk "$output"
  # A resource the config does not read is a usage error, before any list.
  ctl DELETE /requests >/dev/null
  run --separate-stderr kv-watch --kubeconfig "$SIM_DIR/kubeconfig" --config kube-state --once --resources pods,vmis
  assert_status 2
  [[ "$stderr" == *'--resources: "vmis" (kubevirt.io/v1/virtualmachineinstances) is not one of the config'"'"'s resources'* ]] || flunk "$stderr"
  [ -z "$(request_paths list)" ] || flunk "$(request_paths list)"
}

# A VMI or migration of this test's namespace created at 10:00:00, in PHASE,
# with the phase transition timestamps PHASE@SECONDS (after 10:00:00) and,
# with -d SECONDS, marked for deletion then.
phased() {  # vmi|vmim name phase [-d seconds] [phase@seconds...]
  local kind=VirtualMachineInstance spec='{}' deleted='' stamps='' p
  [ "$1" = vmim ] && kind=VirtualMachineInstanceMigration spec="{\"vmiName\":\"$2\"}"
  local name="$2" phase="$3"
  shift 3
  if [ "${1:-}" = -d ]; then deleted=",\"deletionTimestamp\":\"2026-11-23T10:00:$2Z\""; shift 2; fi
  for p in "$@"; do
    stamps+="${stamps:+,}{\"phase\":\"${p%@*}\",\"phaseTransitionTimestamp\":\"2026-11-23T10:00:${p#*@}Z\"}"
  done
  ctl POST /objects "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"$kind\",\"metadata\":{\"name\":\"$name\",\"namespace\":\"$NS\",\"creationTimestamp\":\"2026-11-23T10:00:00Z\"$deleted},\"spec\":$spec,\"status\":{\"phase\":\"$phase\",\"phaseTransitionTimestamps\":[$stamps]}}" >/dev/null
}
# The observations of a histogram family in the last snapshot (its _count series summed).
observations() {
  last_snapshot | awk -v f="$1_count" 'index($1, f "{") == 1 || $1 == f { n += $2 } END { print n + 0 }'
}
observations_are() { [ "$(observations "$1")" = "$2" ]; }
# The last snapshot was written after this point in the samples file.
snapshots_after() {  # lines
  [ "$(tail -n +"$(($1 + 1))" "$TEST_TMP/samples" | grep -c '^{"end"')" -ge 2 ]
}

@test "kv-watch --config kubevirt: phase changes make KubeVirt's transition histograms; relists observe nothing twice" {
  phased vmi x Pending Pending@00
  phased vmim x Pending Pending@00
  kv-watch --kubeconfig "$SIM_DIR/kubeconfig" -n "$NS" --config kubevirt --interval 200ms \
    >"$TEST_TMP/samples" 2>"$TEST_TMP/log" &
  WATCH_PID=$!
  for r in virtualmachineinstances virtualmachineinstancemigrations; do
    wait_for 100 metric_is "kv_watch_synced{resource=\"kubevirt.io/v1/$r\"}" 1
  done
  # What the first list found is not a transition.
  observations_are kubevirt_vmi_phase_transition_time_seconds 0 || flunk "$(last_snapshot)"
  phased vmi x Scheduling Pending@00 Scheduling@01
  phased vmi x Scheduled Pending@00 Scheduling@01 Scheduled@03
  phased vmi x Running Pending@00 Scheduling@01 Scheduled@03 Running@10
  phased vmim x Scheduling Pending@00 Scheduling@02
  phased vmim x Running Pending@00 Scheduling@02 Running@05
  wait_for 100 observations_are kubevirt_vmi_phase_transition_time_seconds 3
  wait_for 100 observations_are kubevirt_vmi_migration_phase_transition_time_from_creation_seconds 2
  observations_are kubevirt_vmi_phase_transition_time_from_creation_seconds 3
  observations_are kubevirt_vmi_phase_transition_time_from_deletion_seconds 0
  metric_is 'kubevirt_vmi_phase_transition_time_seconds_sum{last_phase="Scheduled",phase="Running"}' 7
  metric_is 'kubevirt_vmi_phase_transition_time_from_creation_seconds_bucket{phase="Running",le="10"}' 1
  metric_is 'kubevirt_vmi_migration_phase_transition_time_from_creation_seconds_sum{phase="Running"}' 5
  last_snapshot >"$TEST_TMP/snap.prom"
  promtool check metrics <"$TEST_TMP/snap.prom" || flunk "$(cat "$TEST_TMP/snap.prom")"

  # A 410 on every watch: each resource relists and finds nothing changed.
  ctl POST /faults '{"fault":"gone-event"}' >/dev/null
  for r in virtualmachineinstances virtualmachineinstancemigrations; do
    wait_for 100 metric_is "kv_watch_relists_total{resource=\"kubevirt.io/v1/$r\"}" 1
  done
  seen="$(wc -l <"$TEST_TMP/samples")"
  wait_for 100 snapshots_after "$seen"
  observations_are kubevirt_vmi_phase_transition_time_seconds 3 || flunk "$(last_snapshot)"
  observations_are kubevirt_vmi_migration_phase_transition_time_from_creation_seconds 2 || flunk "$(last_snapshot)"

  # Changes during a 410 gap of the VMI watch: marked for deletion, then
  # Succeeded 20 s after; the relist sees Running -> Succeeded once.
  ctl POST /faults '{"fault":"unavailable","verb":"watch","resource":"vmis","retryAfterSeconds":2}' >/dev/null
  ctl POST /faults '{"fault":"drop","resource":"vmis"}' >/dev/null
  sleep 0.5
  phased vmi x Running -d 30 Pending@00 Scheduling@01 Scheduled@03 Running@10
  phased vmi x Succeeded -d 30 Pending@00 Scheduling@01 Scheduled@03 Running@10 Succeeded@50
  ctl POST /compact '{}' >/dev/null
  wait_for 150 metric_is 'kv_watch_relists_total{resource="kubevirt.io/v1/virtualmachineinstances"}' 2
  wait_for 100 observations_are kubevirt_vmi_phase_transition_time_seconds 4
  metric_is 'kubevirt_vmi_phase_transition_time_seconds_sum{last_phase="Running",phase="Succeeded"}' 40
  metric_is 'kubevirt_vmi_phase_transition_time_from_deletion_seconds_sum{phase="Succeeded"}' 20
  observations_are kubevirt_vmi_phase_transition_time_from_deletion_seconds 1
  # And once more a relist with nothing new.
  ctl POST /faults '{"fault":"gone-event","resource":"vmis"}' >/dev/null
  wait_for 100 metric_is 'kv_watch_relists_total{resource="kubevirt.io/v1/virtualmachineinstances"}' 3
  seen="$(wc -l <"$TEST_TMP/samples")"
  wait_for 100 snapshots_after "$seen"
  observations_are kubevirt_vmi_phase_transition_time_seconds 4 || flunk "$(last_snapshot)"
  observations_are kubevirt_vmi_phase_transition_time_from_creation_seconds 4 || flunk "$(last_snapshot)"
  observations_are kubevirt_vmi_phase_transition_time_from_deletion_seconds 1 || flunk "$(last_snapshot)"
  ! grep -q 'kv_watch_metric_errors_total' "$TEST_TMP/snap.prom" || flunk "$(cat "$TEST_TMP/snap.prom")"
}

@test "kv-watch --config kubevirt: lookups follow the looked-up objects: the KubeVirt CR's eviction strategy, a disk's claim" {
  kubevirt_cr() {  # evictionStrategy
    ctl POST /objects "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"KubeVirt\",\"metadata\":{\"name\":\"kubevirt\",\"namespace\":\"$NS\"},\"spec\":{\"configuration\":{\"evictionStrategy\":\"$1\"}},\"status\":{\"phase\":\"Deployed\"}}" >/dev/null
  }
  claim() {  # name size
    ctl POST /objects "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":\"$1\",\"namespace\":\"$NS\"},\"spec\":{\"volumeMode\":\"Filesystem\",\"resources\":{\"requests\":{\"storage\":\"$2\"}}},\"status\":{\"phase\":\"Bound\"}}" >/dev/null
  }
  kubevirt_cr None
  ctl POST /objects "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachineInstance\",\"metadata\":{\"name\":\"v\",\"namespace\":\"$NS\"},\"status\":{\"phase\":\"Running\",\"nodeName\":\"node01\"}}" >/dev/null
  ctl POST /objects "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachine\",\"metadata\":{\"name\":\"d\",\"namespace\":\"$NS\"},\"spec\":{\"template\":{\"spec\":{\"volumes\":[{\"name\":\"root\",\"persistentVolumeClaim\":{\"claimName\":\"d-root\"}}]}}}}" >/dev/null
  claim d-root 10Gi
  kv-watch --kubeconfig "$SIM_DIR/kubeconfig" -n "$NS" --config kubevirt --interval 200ms \
    >"$TEST_TMP/samples" 2>"$TEST_TMP/log" &
  WATCH_PID=$!
  evictable="kubevirt_vmi_non_evictable{name=\"v\",namespace=\"$NS\",node=\"node01\"}"
  disk="kubevirt_vm_disk_allocated_size_bytes{device=\"root\",name=\"d\",namespace=\"$NS\",persistentvolumeclaim=\"d-root\",volume_mode=\"Filesystem\"}"
  wait_for 100 metric_is "$evictable" 0
  wait_for 100 metric_is "$disk" 10737418240
  last_snapshot | grep -q "^kubevirt_vmi_info{evictable=\"true\",flavor=\"<none>\",name=\"v\"" || flunk "$(last_snapshot)"
  # The cluster's strategy changes: the VMI, with no strategy of its own
  # and not known to be migratable, now blocks eviction.
  kubevirt_cr LiveMigrate
  wait_for 100 metric_is "$evictable" 1
  last_snapshot | grep -q "^kubevirt_vmi_info{evictable=\"false\",flavor=\"<none>\",name=\"v\"" || flunk "$(last_snapshot)"
  # The claim grows, then goes: the disk's series follows, then goes.
  claim d-root 20Gi
  wait_for 100 metric_is "$disk" 21474836480
  ctl DELETE "/objects/persistentvolumeclaims/$NS/d-root" >/dev/null
  no_disk() { ! last_snapshot | grep -q '^kubevirt_vm_disk_allocated_size_bytes{'; }
  wait_for 100 no_disk
  # Without a KubeVirt CR, KubeVirt's default strategy (None) applies.
  ctl DELETE "/objects/kubevirts/$NS/kubevirt" >/dev/null
  wait_for 100 metric_is "$evictable" 0
  last_snapshot >"$TEST_TMP/snap.prom"
  promtool_check_metrics <"$TEST_TMP/snap.prom" || flunk "$(cat "$TEST_TMP/snap.prom")"
  ! grep -q 'kv_watch_metric_errors_total' "$TEST_TMP/snap.prom" || flunk "$(cat "$TEST_TMP/snap.prom")"
}

@test "kv-watch --config kubevirt: kubevirt_vm_labels follows the kubevirt-vm-labels-config ConfigMap, listed by name" {
  labels_config() {  # data (JSON)
    ctl POST /objects "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"kubevirt-vm-labels-config\",\"namespace\":\"$NS\"},\"data\":$1}" >/dev/null
  }
  ctl POST /objects "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachine\",\"metadata\":{\"name\":\"l\",\"namespace\":\"$NS\",\"labels\":{\"app\":\"web\",\"env\":\"prod\"}},\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"env\":\"stage\"}}}}}" >/dev/null
  # A ConfigMap of another name, which kv-watch does not even list.
  ctl POST /objects "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"unrelated\",\"namespace\":\"$NS\"},\"data\":{\"allowlist\":\"\"}}" >/dev/null
  kv-watch --kubeconfig "$SIM_DIR/kubeconfig" -n "$NS" --config kubevirt --interval 200ms \
    >"$TEST_TMP/samples" 2>"$TEST_TMP/log" &
  WATCH_PID=$!
  # No ConfigMap: every label, the template's winning.
  all="kubevirt_vm_labels{label_app=\"web\",label_env=\"stage\",name=\"l\",namespace=\"$NS\"}"
  wait_for 100 metric_is "$all" 1
  labels_config '{"allowlist":"app"}'
  wait_for 100 metric_is "kubevirt_vm_labels{label_app=\"web\",name=\"l\",namespace=\"$NS\"}" 1
  labels_config '{"allowlist":"*","ignorelist":"app"}'
  wait_for 100 metric_is "kubevirt_vm_labels{label_env=\"stage\",name=\"l\",namespace=\"$NS\"}" 1
  # An empty allowlist keeps nothing: no series.
  labels_config '{"allowlist":""}'
  no_series() { ! last_snapshot | grep -q '^kubevirt_vm_labels{'; }
  wait_for 100 no_series
  last_snapshot | grep -q '^kubevirt_vm_create_date_timestamp_seconds{name="l"' || flunk "$(last_snapshot)"
  ctl DELETE "/objects/configmaps/$NS/kubevirt-vm-labels-config" >/dev/null
  wait_for 100 metric_is "$all" 1
  # ConfigMaps were listed and watched by that name alone, on the server.
  ctl GET "/requests?resource=configmaps" | jq -e '[.requests[] | select(.verb == "list" or .verb == "watch")] |
    length > 1 and all(.query | contains("fieldSelector=metadata.name%3Dkubevirt-vm-labels-config"))' >/dev/null ||
    flunk "$(ctl GET "/requests?resource=configmaps")"
}

@test "kv-watch --config kubevirt --total-shards: every shard finds the KubeVirt CR it looks up; the CR's own metrics come from one shard" {
  ctl POST /objects "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"KubeVirt\",\"metadata\":{\"name\":\"kubevirt\",\"namespace\":\"$NS\"},\"spec\":{\"configuration\":{\"evictionStrategy\":\"LiveMigrate\"}},\"status\":{\"phase\":\"Deployed\"}}" >/dev/null
  # Fixed uids, so that which shard an object falls in (by uid) is the same every run and none is empty.
  for i in $(seq 1 12); do
    ctl POST /objects "$(vmi "vm$i" | jq -c --arg uid "$(printf '00000000-0000-4000-8000-%012d' "$i")" '.metadata.uid = $uid')" >/dev/null
  done
  for shard in 0 1 2; do
    kv-watch --kubeconfig "$SIM_DIR/kubeconfig" -n "$NS" --config kubevirt --once --shard "$shard" --total-shards 3 |
      kv-promfmt >"$TEST_TMP/shard$shard" 2>/dev/null
  done
  # Each VMI in one shard, each blocking eviction by the CR's strategy.
  names="$(cat "$TEST_TMP"/shard* | sed -n 's/^kubevirt_vmi_non_evictable{.*name="\([^"]*\)".*} 1$/\1/p' | sort)"
  [ "$names" = "$(for i in $(seq 1 12); do echo "vm$i"; done | sort)" ] || flunk "$names"
  for shard in 0 1 2; do
    grep -q '^kubevirt_vmi_non_evictable{' "$TEST_TMP/shard$shard" || flunk "shard $shard has no VMI: $(cat "$TEST_TMP/shard$shard")"
  done
  [ "$(cat "$TEST_TMP"/shard* | grep -c '^kubevirt_configuration_emulation_enabled ')" -eq 1 ] || flunk "$(grep -h emulation "$TEST_TMP"/shard*)"
}
