#!/usr/bin/env bats
# The containers' entrypoints (deploy/entrypoints), run here with the built
# tools: the central collector against the API simulator, the node and
# textfile collectors against a private libvirtd with a paused QEMU domain
# named as KubeVirt names them. What they serve, and how they end: a dead
# stage stops the rest with a non-zero status, SIGTERM stops every stage
# promptly (also as PID 1 of a PID namespace), nothing is left running.
#
# Each @test runs in a subshell of its own, which is what these tests'
# exports rely on:
# shellcheck disable=SC2030,SC2031

setup_file() {
  load helpers/common
  load helpers/apisim
  load helpers/libvirt
  start_apisim --fixtures "$APISIM_FIXTURES"
  export EP_TMP
  EP_TMP="$(mktemp -d /tmp/kv-entrypoints.XXXXXX)"
  chmod 0755 "$EP_TMP"
  # The node collector's libvirt: root only (tap devices, a test user).
  if [ "$(id -u)" = 0 ]; then
    export KV_LIBVIRT_TAPS="$EP_TMP/taps"
    stat -c %a /dev/net/tun >"$EP_TMP/tun-mode"
    libvirt_setup_user
    libvirt_start "$EP_TMP/lv"
    libvirt_add_domain "$EP_TMP/lv" default_vm1 kvep0
    # The socket where virt-handler's mount puts a virt-launcher's.
    local sock_dir="$EP_TMP/pods/0c1f/volumes/kubernetes.io~empty-dir/libvirt-runtime"
    mkdir -p "$sock_dir"
    ln -s "$EP_TMP/lv/run/libvirt/libvirt-sock" "$sock_dir/virtqemud-sock"
  fi
}

teardown_file() {
  stop_apisim
  if [ -d "${EP_TMP:-}" ]; then
    libvirt_stop "$EP_TMP/lv"
    libvirt_cleanup
    [ -f "$EP_TMP/tun-mode" ] && chmod "$(cat "$EP_TMP/tun-mode")" /dev/net/tun
    rm -rf "$EP_TMP"
  fi
}

setup() {
  load helpers/common
  load helpers/apisim
  load helpers/libvirt
  common_setup
  # KV_ENTRYPOINTS: another directory of them, such as an installed one.
  ENTRYPOINTS="${KV_ENTRYPOINTS:-$KV_ROOT/deploy/entrypoints/bin}"
  PORT="$(free_port)"
  export KV_LISTEN="127.0.0.1:$PORT" KV_INTERVAL=1s TMPDIR="$TEST_TMP"
  URI="$(libvirt_uri "$EP_TMP/lv")"
  GLOB="$EP_TMP/pods/*/volumes/kubernetes.io~empty-dir/libvirt-runtime/virtqemud-sock"
  EP_PID=
  STAGES=()
}

teardown() {
  local pid
  for pid in ${EP_PID:-} "${STAGES[@]}" ${RECEIVER_PID:-} $(leftovers); do
    kill -KILL "$pid" 2>/dev/null || true
  done
  # Reaped quietly (bash would report the killed jobs).
  for pid in ${EP_PID:-} ${RECEIVER_PID:-}; do wait "$pid" 2>/dev/null || true; done
  if [ -f "$TEST_TMP/ep.log" ] && [ "${BATS_TEST_COMPLETED:-}" != 1 ]; then
    echo "--- the entrypoint's stderr:" >&2
    cat "$TEST_TMP/ep.log" >&2
  fi
  common_teardown
}

need_root() {
  [ "$(id -u)" = 0 ] || skip "needs root for the private libvirtd"
}

# Starts an entrypoint in the background with the current environment;
# sets EP_PID, its stderr in $TEST_TMP/ep.log. fd 3 (bats') stays closed.
# KV_EP_MARK in its environment marks it and every process it starts.
start_entrypoint() {  # NAME
  KV_EP_MARK="$TEST_TMP" ${ENTRYPOINT_WRAPPER:-} "$ENTRYPOINTS/$1" 2>"$TEST_TMP/ep.log" 3>&- &
  EP_PID=$!
}

# The processes this test's entrypoint started that still run, whatever
# became of their parent.
leftovers() {
  grep -lzxF "KV_EP_MARK=$TEST_TMP" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 || true
}

alive() {  # PID: running, not a zombie
  local state
  state="$(ps -o stat= -p "$1" 2>/dev/null)" && [[ "$state" != Z* ]]
}

# Waits until the entrypoint has N stages running as the programs named,
# and records their pids in STAGES.
wait_stages() {  # N
  local i
  for ((i = 0; i < 100; i++)); do
    mapfile -t STAGES < <(ps -o pid=,comm= --ppid "$EP_PID" | awk '$2 ~ /^kv-(promfmt|watch|domstats)$/ { print $1 }')
    [ "${#STAGES[@]}" -eq "$1" ] && return 0
    sleep 0.1
  done
  flunk "expected $1 stages, found: $(ps -o pid=,args= --ppid "$EP_PID")"
}

stage_pid() {  # PROGRAM [N]: the Nth (from 1) stage running PROGRAM
  pgrep -P "$EP_PID" -x "$1" | sed -n "${2:-1}p"
}

# Waits at most SECONDS for the entrypoint to exit; EP_STATUS is its status.
wait_exit() {  # SECONDS
  local i
  for ((i = 0; i < $1 * 10; i++)); do
    alive "$EP_PID" || break
    sleep 0.1
  done
  if alive "$EP_PID"; then flunk "the entrypoint still runs after $1 s"; fi
  EP_STATUS=0
  wait "$EP_PID" || EP_STATUS=$?
  EP_PID=
}

# Every stage has ended: none was left behind as an orphan.
assert_stages_gone() {
  local pid
  for pid in "${STAGES[@]}" $(leftovers); do
    if alive "$pid"; then flunk "left behind: $pid $(ps -o args= -p "$pid")"; fi
  done
}

# For `run --separate-stderr`.
assert_stderr_contains() {
  # shellcheck disable=SC2154  # set by run
  [[ "$stderr" == *"$1"* ]] || flunk "stderr does not contain: $1"$'\n'"stderr: $stderr"
}

scrape() {  # PATH
  curl -sf --max-time 5 "http://$KV_LISTEN$1"
}

ready() { [ "$(scrape /readyz)" = ok ]; }

# The metrics, once /metrics has a series named NAME.
metrics_with() {  # NAME
  wait_for 150 bash -c "curl -sf --max-time 5 'http://$KV_LISTEN/metrics' | grep -q '^$1[{ ]'"
  scrape /metrics
}

@test "entrypoints: --help names every variable with its default; arguments are refused with status 2" {
  run "$ENTRYPOINTS/kv-central-collector" --help
  assert_success
  local v
  for v in 'KV_WATCH_CONFIGS' 'default: kubevirt' 'KV_LISTEN' 'default: :8080' 'KV_INTERVAL' 'default: 30s' \
           KV_WATCH_ARGS KV_PROMFMT_ARGS OTEL_EXPORTER_OTLP_ENDPOINT TMPDIR; do
    assert_output_contains "$v"
  done
  run "$ENTRYPOINTS/kv-node-collector" --help
  assert_success
  for v in NODE_NAME KV_LIBVIRT_SOCKET_GLOB '/pods/*/volumes/kubernetes.io~empty-dir/libvirt-runtime/virtqemud-sock' \
           KV_LIBVIRT_URI 'default: :9090' 'default: 30s' KV_DOMSTATS_ARGS KV_PROMFMT_ARGS OTEL_EXPORTER_OTLP_ENDPOINT; do
    assert_output_contains "$v"
  done
  run "$ENTRYPOINTS/kv-textfile-collector" -h
  assert_success
  for v in KV_TEXTFILE /var/lib/prometheus/node-exporter/kubevirt.prom KV_LIBVIRT_URI qemu:///system \
           KV_LIBVIRT_SOCKET_GLOB KV_DOMSTATS_ARGS KV_PROMFMT_ARGS; do
    assert_output_contains "$v"
  done
  local ep
  for ep in kv-central-collector kv-node-collector kv-textfile-collector; do
    run --separate-stderr "$ENTRYPOINTS/$ep" --config kubevirt
    assert_status 2
    [ -z "$output" ]
    assert_stderr_contains "$ep: takes no arguments (it is configured by environment variables): --config kubevirt"
    assert_stderr_contains "Usage: $ep [--help]"
  done
}

@test "central: one kv-watch per config into one kv-promfmt, each config its own input; /readyz becomes 200" {
  export KV_WATCH_CONFIGS="kubevirt,kube-state"
  start_entrypoint kv-central-collector
  wait_stages 3
  local pid
  for pid in $(pgrep -P "$EP_PID" -x kv-watch); do tr '\0' ' ' <"/proc/$pid/cmdline"; echo; done | sort >"$TEST_TMP/watches"
  printf '%s\n' "kv-watch --config kube-state --interval 1s " "kv-watch --config kubevirt --interval 1s " >"$TEST_TMP/expected"
  assert_file_equals "$TEST_TMP/expected" "$TEST_TMP/watches"
  wait_for 150 ready
  metrics_with kube_pod_status_phase >"$TEST_TMP/metrics"
  grep -q '^kubevirt_vmi_info{' "$TEST_TMP/metrics"
  grep -q '^kubevirt_vm_info{' "$TEST_TMP/metrics"
  grep -q '^kube_node_status_condition{' "$TEST_TMP/metrics"
  # Each kv-watch is a source of its own, named after its config.
  grep -q '^kv_promfmt_samples{input="kubevirt"} [1-9]' "$TEST_TMP/metrics"
  grep -q '^kv_promfmt_samples{input="kube-state"} [1-9]' "$TEST_TMP/metrics"
  promtool_check_metrics <"$TEST_TMP/metrics"
  # The FIFOs are in a directory of their own under TMPDIR.
  ls "$TEST_TMP"/kv-central-collector.*/kubevirt
}

@test "central: SIGTERM stops every stage and exits 0 within a few seconds, its FIFO directory removed" {
  export KV_WATCH_CONFIGS="kubevirt kube-state"
  start_entrypoint kv-central-collector
  wait_stages 3
  wait_for 150 ready
  kill -TERM "$EP_PID"
  wait_exit 5
  [ "$EP_STATUS" = 0 ] || flunk "status $EP_STATUS"
  assert_stages_gone
  grep -q 'SIGTERM received' "$TEST_TMP/ep.log"
  [ "$(grep -c 'kv-watch: info: received a signal' "$TEST_TMP/ep.log")" = 2 ]
  grep -q 'kv-promfmt: info: received Terminated' "$TEST_TMP/ep.log"
  [ -z "$(compgen -G "$TEST_TMP/kv-central-collector.*")" ]
}

@test "central: SIGINT stops it too (passed on as SIGTERM: background stages ignore SIGINT)" {
  # A background job of this shell starts with SIGINT ignored, which bash
  # cannot trap; PID 1 of a container, or a command in a terminal, does not.
  ENTRYPOINT_WRAPPER="env --default-signal=INT"
  start_entrypoint kv-central-collector
  wait_stages 2
  wait_for 150 ready
  kill -INT "$EP_PID"
  wait_exit 5
  [ "$EP_STATUS" = 0 ]
  assert_stages_gone
}

@test "central: a kv-watch killed with SIGKILL stops the pipeline with a non-zero status, nothing left" {
  export KV_WATCH_CONFIGS="kubevirt kube-state"
  start_entrypoint kv-central-collector
  wait_stages 3
  wait_for 150 ready
  kill -KILL "$(stage_pid kv-watch 2)"
  wait_exit 5
  [ "$EP_STATUS" = 137 ] || flunk "status $EP_STATUS"
  assert_stages_gone
  grep -q 'kv-watch --config .* ended with status 137; stopping the pipeline' "$TEST_TMP/ep.log"
}

@test "central: kv-promfmt killed with SIGKILL stops the pipeline with a non-zero status, nothing left" {
  start_entrypoint kv-central-collector
  wait_stages 2
  wait_for 150 ready
  kill -KILL "$(stage_pid kv-promfmt)"
  wait_exit 5
  [ "$EP_STATUS" -ne 0 ]
  assert_stages_gone
}

@test "central: a kv-promfmt that cannot start (address in use) ends it; the kv-watch waiting on its FIFO is stopped" {
  "$PYTHON3" -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); time.sleep(60)' \
    "$PORT" 3>&- &
  RECEIVER_PID=$!
  wait_for 50 bash -c "ss -Hltn 'sport = :$PORT' | grep -q ."
  start_entrypoint kv-central-collector
  wait_exit 5
  [ "$EP_STATUS" -ne 0 ]
  assert_stages_gone
  grep -q 'kv-promfmt (pid [0-9]*) ended with status [1-9]' "$TEST_TMP/ep.log"
}

@test "central: a config kv-watch cannot read ends it with kv-watch's exit status" {
  export KV_WATCH_CONFIGS="kubevirt $TEST_TMP/missing.yaml"
  start_entrypoint kv-central-collector
  wait_exit 5
  [ "$EP_STATUS" = 1 ] || flunk "status $EP_STATUS"
  grep -q "kv-watch --config $TEST_TMP/missing.yaml (pid [0-9]*) ended with status 1; stopping the pipeline" "$TEST_TMP/ep.log"
  assert_stages_gone
}

@test "central: KV_WATCH_ARGS and KV_PROMFMT_ARGS reach their stage, split on blanks, with no glob expansion" {
  export KV_WATCH_ARGS="--exclude-namespaces kube-system  --page-size 7" KV_PROMFMT_ARGS="--log-level *"
  start_entrypoint kv-central-collector
  wait_exit 5
  # '*' reached kv-promfmt as it is (not the FIFO's name), which refuses it.
  [ "$EP_STATUS" = 2 ]
  grep -qF -- '--log-level: * not in' "$TEST_TMP/ep.log"
  export KV_PROMFMT_ARGS="--stale-after 1h"
  start_entrypoint kv-central-collector
  wait_stages 2
  [ "$(tr '\0' ' ' <"/proc/$(stage_pid kv-watch)/cmdline")" = \
    "kv-watch --config kubevirt --interval 1s --exclude-namespaces kube-system --page-size 7 " ]
  [ "$(tr '\0' ' ' <"/proc/$(stage_pid kv-promfmt)/cmdline")" = \
    "kv-promfmt --listen $KV_LISTEN --stale-after 1h kubevirt " ]
}

@test "central: with OTEL_EXPORTER_OTLP_ENDPOINT kv-promfmt also pushes over OTLP" {
  local otlp_port
  otlp_port="$(free_port)"
  "$PYTHON3" - "$otlp_port" "$TEST_TMP/otlp.log" 3>&- <<'PY' &
import http.server, sys
log = open(sys.argv[2], "a", buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        log.write(f"{self.path} {self.headers['Content-Type']} {len(body)}\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
  RECEIVER_PID=$!
  export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$otlp_port"
  start_entrypoint kv-central-collector
  wait_stages 2
  wait_for 150 grep -q '^/v1/metrics application/x-protobuf [1-9]' "$TEST_TMP/otlp.log"
  tr '\0' ' ' <"/proc/$(stage_pid kv-promfmt)/cmdline" | grep -q -- ' --otlp '
}

@test "central: an unwritable TMPDIR is a clear error" {
  export TMPDIR="$TEST_TMP/missing"
  run --separate-stderr "$ENTRYPOINTS/kv-central-collector"
  assert_status 1
  assert_stderr_contains "cannot create a directory in $TEST_TMP/missing"
}

@test "central: as PID 1 of a PID namespace (as in a container), SIGTERM stops every stage and exits 0" {
  local ns_pid
  unshare --pid --fork "$ENTRYPOINTS/kv-central-collector" 2>"$TEST_TMP/ep.log" 3>&- &
  ns_pid=$!
  wait_for 50 pgrep -P "$ns_pid"
  EP_PID="$(pgrep -P "$ns_pid")"
  wait_stages 2
  wait_for 150 ready
  # The kernel drops every signal to a PID 1 that has no handler for it.
  kill -TERM "$EP_PID"
  EP_PID=$ns_pid
  wait_exit 5
  [ "$EP_STATUS" = 0 ]
  assert_stages_gone
  grep -q 'kv-watch: info: received a signal, exiting' "$TEST_TMP/ep.log"
  grep -q 'kv-promfmt: info: received Terminated, exiting' "$TEST_TMP/ep.log"
}

@test "node: the VMs of the sockets the glob finds, with KubeVirt's names and the node of NODE_NAME; SIGTERM stops both stages" {
  need_root
  export KV_LIBVIRT_SOCKET_GLOB="$GLOB" NODE_NAME=node-ep
  start_entrypoint kv-node-collector
  wait_stages 2
  wait_for 150 ready
  metrics_with kubevirt_vmi_memory_domain_bytes >"$TEST_TMP/metrics"
  grep -q '^kubevirt_vmi_memory_domain_bytes{name="vm1",namespace="default",node="node-ep"} 67108864$' "$TEST_TMP/metrics"
  grep -q '^kubevirt_vmi_cpu_usage_seconds_total{name="vm1",namespace="default",node="node-ep"} ' "$TEST_TMP/metrics"
  grep -q '^kv_domstats_source_up{source="qemu+unix:///session?socket=.*/virtqemud-sock"} 1$' "$TEST_TMP/metrics"
  grep -q '^kv_promfmt_samples{input="kv-domstats"} [1-9]' "$TEST_TMP/metrics"
  promtool check metrics <"$TEST_TMP/metrics"
  kill -TERM "$EP_PID"
  wait_exit 5
  [ "$EP_STATUS" = 0 ]
  assert_stages_gone
}

@test "node: KV_LIBVIRT_URI is read instead of the glob" {
  need_root
  export KV_LIBVIRT_URI="$URI" KV_LIBVIRT_SOCKET_GLOB="$TEST_TMP/none/*"
  start_entrypoint kv-node-collector
  wait_stages 2
  metrics_with kubevirt_vmi_memory_domain_bytes >"$TEST_TMP/metrics"
  grep -q '^kubevirt_vmi_memory_domain_bytes{name="vm1",namespace="default",' "$TEST_TMP/metrics"
  grep -qF "kv_domstats_source_up{source=\"$URI\"} 1" "$TEST_TMP/metrics"
}

@test "node: kv-domstats killed with SIGKILL stops kv-promfmt too, with a non-zero status" {
  need_root
  export KV_LIBVIRT_URI="$URI"
  start_entrypoint kv-node-collector
  wait_stages 2
  metrics_with kubevirt_vmi_memory_domain_bytes >/dev/null
  kill -KILL "$(stage_pid kv-domstats)"
  wait_exit 5
  [ "$EP_STATUS" = 137 ]
  assert_stages_gone
}

@test "node: kv-promfmt killed with SIGKILL stops kv-domstats too, with a non-zero status" {
  need_root
  export KV_LIBVIRT_URI="$URI"
  start_entrypoint kv-node-collector
  wait_stages 2
  wait_for 150 ready
  kill -KILL "$(stage_pid kv-promfmt)"
  wait_exit 5
  [ "$EP_STATUS" = 137 ]
  assert_stages_gone
}

@test "textfile: one snapshot of the VMs into KV_TEXTFILE, replaced atomically, mode 0644" {
  need_root
  export KV_LIBVIRT_URI="$URI" NODE_NAME=node-ep KV_TEXTFILE="$TEST_TMP/kubevirt.prom"
  run timeout 60 "$ENTRYPOINTS/kv-textfile-collector"
  assert_success
  grep -q '^kubevirt_vmi_memory_domain_bytes{name="vm1",namespace="default",node="node-ep"} 67108864$' "$KV_TEXTFILE"
  [ "$(stat -c %a "$KV_TEXTFILE")" = 644 ]
  promtool check metrics <"$KV_TEXTFILE"
  # Nothing else is left: no temp file beside it, no directory under TMPDIR.
  [ "$(ls "$TEST_TMP")" = kubevirt.prom ]
}

@test "textfile: the glob when KV_LIBVIRT_URI is not set" {
  need_root
  export KV_LIBVIRT_SOCKET_GLOB="$GLOB" KV_TEXTFILE="$TEST_TMP/kubevirt.prom"
  run timeout 60 "$ENTRYPOINTS/kv-textfile-collector"
  assert_success
  grep -q '^kubevirt_vmi_memory_domain_bytes{name="vm1",namespace="default",' "$KV_TEXTFILE"
}

@test "textfile: an unreachable libvirt is published as kv_domstats_source_up 0, old series gone, and exits 1" {
  export KV_LIBVIRT_URI="qemu+unix:///session?socket=$TEST_TMP/no-such-sock" KV_TEXTFILE="$TEST_TMP/kubevirt.prom"
  echo 'kubevirt_vmi_memory_domain_bytes{name="old"} 1' >"$KV_TEXTFILE"
  run --separate-stderr timeout 60 "$ENTRYPOINTS/kv-textfile-collector"
  assert_status 1
  assert_stderr_contains "1 libvirt connection(s) could not be read (in $KV_TEXTFILE as kv_domstats_source_up 0)"
  grep -qx "kv_domstats_source_up{source=\"$KV_LIBVIRT_URI\"} 0" "$KV_TEXTFILE" || flunk "$(cat "$KV_TEXTFILE")"
  run grep -c '^kubevirt_vmi_' "$KV_TEXTFILE"
  assert_output 0
}

# A kv-domstats of our own, first on PATH: prints what $FAKE_OUT holds,
# then runs $FAKE_THEN (exec'd, so that it is the stage's process).
fake_domstats() {
  mkdir -p "$TEST_TMP/fake"
  cat >"$TEST_TMP/fake/kv-domstats" <<'EOF'
#!/bin/bash
printf '%s\n' "$FAKE_OUT"
exec bash -c "$FAKE_THEN"
EOF
  chmod +x "$TEST_TMP/fake/kv-domstats"
  export PATH="$TEST_TMP/fake:$PATH"
}

@test "textfile: a kv-domstats that fails half-way leaves the previous textfile and exits with its status" {
  fake_domstats
  export FAKE_OUT='{"name":"kubevirt_vmi_memory_domain_bytes","type":"gauge","value":2,"labels":{"name":"new"}}' FAKE_THEN='exit 1'
  export KV_TEXTFILE="$TEST_TMP/kubevirt.prom"
  echo 'kubevirt_vmi_memory_domain_bytes{name="old"} 1' >"$KV_TEXTFILE"
  cp "$KV_TEXTFILE" "$TEST_TMP/before"
  run --separate-stderr timeout 60 "$ENTRYPOINTS/kv-textfile-collector"
  assert_status 1
  assert_stderr_contains "kv-domstats failed (status 1); $KV_TEXTFILE left as it was"
  assert_file_equals "$TEST_TMP/before" "$KV_TEXTFILE"
  # A complete snapshot from the same stand-in does replace it (the test
  # above would pass with an entrypoint that never writes).
  export FAKE_OUT="$FAKE_OUT"$'\n''{"end":"kv-domstats"}' FAKE_THEN='exit 0'
  run timeout 60 "$ENTRYPOINTS/kv-textfile-collector"
  assert_success
  grep -qx 'kubevirt_vmi_memory_domain_bytes{name="new"} 2' "$KV_TEXTFILE"
}

@test "textfile: a directory that does not exist is kv-promfmt's failure, and the status says so" {
  export KV_LIBVIRT_SOCKET_GLOB="$TEST_TMP/none/*" KV_TEXTFILE="$TEST_TMP/missing/kubevirt.prom"
  run --separate-stderr timeout 60 "$ENTRYPOINTS/kv-textfile-collector"
  assert_status 1
  assert_stderr_contains "cannot write the textfile $KV_TEXTFILE: directory $TEST_TMP/missing: No such file or directory"
  assert_stderr_contains "kv-promfmt failed (status 1)"
}

@test "textfile: SIGTERM stops the stage that runs and exits 143 at once, the textfile untouched" {
  fake_domstats
  export FAKE_OUT='{"name":"x","value":1}' FAKE_THEN='exec sleep 60' KV_TEXTFILE="$TEST_TMP/kubevirt.prom"
  echo 'x 0' >"$KV_TEXTFILE"
  start_entrypoint kv-textfile-collector
  wait_for 50 pgrep -P "$EP_PID" -x sleep
  STAGES=("$(pgrep -P "$EP_PID" -x sleep)")
  kill -TERM "$EP_PID"
  wait_exit 5
  [ "$EP_STATUS" = 143 ] || flunk "status $EP_STATUS"
  assert_stages_gone
  [ "$(cat "$KV_TEXTFILE")" = 'x 0' ]
}
