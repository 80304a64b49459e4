#!/usr/bin/env bats
# shellcheck disable=SC2154 # bats: run --separate-stderr sets $stderr
# kv-domstats end to end against private libvirtd instances with real QEMU
# domains (TCG, paused): the values, the labels, a stuck VM, a daemon that
# restarts, sockets that come and go, and sources that fail.

load helpers/common
load helpers/libvirt

setup_file() {
  export E2E_TMP
  E2E_TMP="$(mktemp -d /tmp/kv-e2e-domstats.XXXXXX)"
  chmod 0755 "$E2E_TMP"
  export KV_LIBVIRT_TAPS="$E2E_TMP/taps"
  stat -c %a /dev/net/tun >"$E2E_TMP/tun-mode"
  libvirt_setup_user
  # A: two VMs on one daemon; B: one VM on its own, as KubeVirt's launchers.
  mkdir -p "$E2E_TMP/sockets"
  libvirt_start "$E2E_TMP/a"
  libvirt_add_domain "$E2E_TMP/a" default_vm1 kvtap1
  libvirt_add_domain "$E2E_TMP/a" default_vm2 kvtap2
  libvirt_start "$E2E_TMP/b"
  libvirt_add_domain "$E2E_TMP/b" team-b_vm3 kvtap3
  ln -s "$E2E_TMP/a/run/libvirt/libvirt-sock" "$E2E_TMP/sockets/a-sock"
  ln -s "$E2E_TMP/b/run/libvirt/libvirt-sock" "$E2E_TMP/sockets/b-sock"
}

teardown_file() {
  libvirt_stop "$E2E_TMP/a"
  libvirt_stop "$E2E_TMP/b"
  libvirt_stop "$E2E_TMP/c"
  libvirt_stop "$E2E_TMP/p"
  libvirt_cleanup
  [ -f "$E2E_TMP/tun-mode" ] && chmod "$(cat "$E2E_TMP/tun-mode")" /dev/net/tun
  rm -rf "$E2E_TMP"
}

setup() {
  common_setup
  URI_A="$(libvirt_uri "$E2E_TMP/a")"
  URI_B="$(libvirt_uri "$E2E_TMP/b")"
}

teardown() {
  local pid
  for pid in $(libvirt_qemu_pid "$E2E_TMP/a" default_vm2); do kill -CONT "$pid" 2>/dev/null || true; done
  if [ -n "${DOMSTATS_PID:-}" ]; then kill "$DOMSTATS_PID" 2>/dev/null || true; fi
  if [ -n "${SILENT_PID:-}" ]; then kill "$SILENT_PID" 2>/dev/null || true; fi
  common_teardown
}

# The value of one series in a snapshot of kv-domstats, through kv-promfmt.
series_value() {  # file 'name{labels}'
  grep -F "$2 " "$1" | awk '{print $2}'
}

@test "kv-domstats: one snapshot of two real VMs, with KubeVirt's names, labels and units" {
  kv-domstats --uri "$URI_A" --once --node node01 >"$TEST_TMP/samples.ndjson"
  tail -n 1 "$TEST_TMP/samples.ndjson" | grep -q '"end":"kv-domstats"'
  kv-promfmt "$TEST_TMP/samples.ndjson" >"$TEST_TMP/out.prom"
  promtool check metrics <"$TEST_TMP/out.prom"
  local vm
  for vm in vm1 vm2; do
    local l="name=\"$vm\",namespace=\"default\",node=\"node01\""
    grep -q "^kubevirt_vmi_cpu_usage_seconds_total{$l} " "$TEST_TMP/out.prom"
    grep -q "^kubevirt_vmi_memory_domain_bytes{$l} 67108864$" "$TEST_TMP/out.prom"
    grep -q "^kubevirt_vmi_vcpu_seconds_total{id=\"1\",$l,state=\"running\"} " "$TEST_TMP/out.prom"
    grep -q "^kubevirt_vmi_storage_iops_read_total{drive=\"rootdisk\",$l} " "$TEST_TMP/out.prom"
    grep -q "^kubevirt_vmi_network_receive_bytes_total{interface=\"default\",$l} " "$TEST_TMP/out.prom"
    grep -q "^kubevirt_vmi_network_traffic_bytes_total{interface=\"default\",$l,type=\"tx\"} " "$TEST_TMP/out.prom"
  done
  grep -q '^kv_domstats_source_domains{source=".*"} 2$' "$TEST_TMP/out.prom"
}

@test "kv-domstats: values equal virsh domstats for the same domains (counters may only advance)" {
  virsh -c "$URI_A" domstats --cpu-total --balloon --vcpu --interface --block default_vm1 >"$TEST_TMP/virsh.txt"
  kv-domstats --uri "$URI_A" --once --no-self-metrics | kv-promfmt >"$TEST_TMP/out.prom"
  local l
  l='name="vm1",namespace="default",node="'"$(hostname)"'"'
  v() { sed -n "s/^ *$1=//p" "$TEST_TMP/virsh.txt"; }
  # Gauges: equal.
  [ "$(series_value "$TEST_TMP/out.prom" "kubevirt_vmi_memory_domain_bytes{$l}")" = "$(($(v balloon.current) * 1024))" ]
  # Counters: at least virsh's value, converted.
  "$PYTHON3" - "$TEST_TMP/out.prom" "$TEST_TMP/virsh.txt" "$l" <<'PY'
import re, sys
prom, virsh, labels = sys.argv[1], sys.argv[2], sys.argv[3]
got = {}
for line in open(prom):
    if line.startswith("#"): continue
    name, value = line.rsplit(" ", 1)
    got[name] = float(value)
raw = dict(re.findall(r"^\s*(\S+)=(\S+)$", open(virsh).read(), re.M))
checks = [
    ("cpu.time", "kubevirt_vmi_cpu_usage_seconds_total{%s}" % labels, 1e-9),
    ("net.0.rx.bytes", 'kubevirt_vmi_network_receive_bytes_total{interface="default",%s}' % labels, 1),
    ("block.0.rd.reqs", 'kubevirt_vmi_storage_iops_read_total{drive="rootdisk",%s}' % labels, 1),
    ("vcpu.0.delay", 'kubevirt_vmi_vcpu_delay_seconds_total{id="0",%s}' % labels, 1e-9),
]
bad = 0
for field, series, scale in checks:
    want = float(raw[field]) * scale
    have = got.get(series)
    ok = have is not None and have >= want - 1e-12
    print(f"{field}: virsh {want} kv-domstats {have} {'ok' if ok else 'BAD'}")
    bad += not ok
sys.exit(bad)
PY
}

@test "kv-domstats: a stopped QEMU does not hold up the other VMs beyond --timeout, and recovers" {
  local qemu
  qemu="$(libvirt_qemu_pid "$E2E_TMP/a" default_vm2)"
  [ -n "$qemu" ]
  kill -STOP "$qemu"
  kv-domstats --uri "$URI_A" --interval 2s --timeout 1s >"$TEST_TMP/stream.ndjson" 2>"$TEST_TMP/err" &
  DOMSTATS_PID=$!
  # Three cycles: the first read is stuck on vm2; the next ones read beside it.
  wait_for 100 bash -c "[ \$(grep -c '\"end\"' '$TEST_TMP/stream.ndjson') -ge 3 ]"
  kill -CONT "$qemu"
  wait_for 100 bash -c "[ \$(grep -c '\"end\"' '$TEST_TMP/stream.ndjson') -ge 5 ]"
  kill "$DOMSTATS_PID"
  wait "$DOMSTATS_PID" || true
  DOMSTATS_PID=
  # Split the stream into snapshots; check the third and the last.
  awk -v d="$TEST_TMP" '{print > (d "/snap." n ".ndjson")} /"end"/ {n++}' n=1 "$TEST_TMP/stream.ndjson"
  kv-promfmt "$TEST_TMP/snap.3.ndjson" >"$TEST_TMP/third.prom"
  grep -q '^kv_domstats_source_stuck{source=".*"} 1$' "$TEST_TMP/third.prom"
  grep -q '^kubevirt_vmi_cpu_usage_seconds_total{name="vm1",' "$TEST_TMP/third.prom"
  grep -q '^kv_domstats_domain_stale{name="vm1",.*} 0$' "$TEST_TMP/third.prom"
  grep -q 'a read has not returned within 1s' "$TEST_TMP/err"
  local last
  last="$TEST_TMP/$(find "$TEST_TMP" -maxdepth 1 -name 'snap.*.ndjson' -printf '%f\n' | sort -t. -k2 -n | tail -n 2 | head -n 1)"
  kv-promfmt "$last" >"$TEST_TMP/last.prom"
  grep -q '^kv_domstats_source_stuck{source=".*"} 0$' "$TEST_TMP/last.prom"
  grep -q '^kubevirt_vmi_memory_resident_bytes{name="vm2",' "$TEST_TMP/last.prom"
}

@test "kv-domstats: libvirtd killed and restarted while --interval runs: samples resume, the outage is data" {
  libvirt_start "$E2E_TMP/c"
  libvirt_add_domain "$E2E_TMP/c" default_vm4 kvtap4
  local uri_c
  uri_c="$(libvirt_uri "$E2E_TMP/c")"
  kv-domstats --uri "$uri_c" --interval 1s --timeout 1s >"$TEST_TMP/stream.ndjson" 2>"$TEST_TMP/err" &
  DOMSTATS_PID=$!
  wait_for 100 grep -q 'name":"vm4"' "$TEST_TMP/stream.ndjson"
  kill -9 "$(cat "$E2E_TMP/c/libvirtd.pid")"
  wait_for 100 grep -q '"kv_domstats_source_up".*"value":0' "$TEST_TMP/stream.ndjson"
  libvirt_as_user "$E2E_TMP/c" "libvirtd --daemon --pid-file='$E2E_TMP/c/libvirtd.pid' --timeout 0" >/dev/null 2>&1
  local before
  before="$(grep -c '"end"' "$TEST_TMP/stream.ndjson")"
  wait_for 200 bash -c "tail -n +$((before * 20)) '$TEST_TMP/stream.ndjson' | grep -q '\"kv_domstats_source_up\".*\"value\":1'"
  kill "$DOMSTATS_PID"
  wait "$DOMSTATS_PID" || true
  DOMSTATS_PID=
  grep -q 'kv_domstats_source_errors_total' "$TEST_TMP/stream.ndjson"
  # The QEMU outlived its daemon: once back, the VM's samples are back too.
  tail -n 60 "$TEST_TMP/stream.ndjson" | grep -q 'name":"vm4"'
  libvirt_stop "$E2E_TMP/c"
}

@test "kv-domstats: --socket-glob finds every launcher socket and drops one that goes away" {
  kv-domstats --socket-glob "$E2E_TMP/sockets/*-sock" --interval 1s --timeout 2s >"$TEST_TMP/stream.ndjson" 2>"$TEST_TMP/err" &
  DOMSTATS_PID=$!
  wait_for 100 bash -c "grep -q 'name\":\"vm3\"' '$TEST_TMP/stream.ndjson' && grep -q 'name\":\"vm1\"' '$TEST_TMP/stream.ndjson'"
  rm "$E2E_TMP/sockets/b-sock"
  local n
  n="$(grep -c '"end"' "$TEST_TMP/stream.ndjson")"
  wait_for 100 bash -c "[ \$(grep -c '\"end\"' '$TEST_TMP/stream.ndjson') -ge $((n + 2)) ]"
  kill "$DOMSTATS_PID"
  wait "$DOMSTATS_PID" || true
  DOMSTATS_PID=
  ln -s "$E2E_TMP/b/run/libvirt/libvirt-sock" "$E2E_TMP/sockets/b-sock"
  # The last snapshot has A's VMs and not B's.
  awk '/"end"/ {last = buf; buf = ""; next} {buf = buf $0 "\n"} END {printf "%s", last}' \
    "$TEST_TMP/stream.ndjson" >"$TEST_TMP/last.ndjson"
  grep -q 'name":"vm1"' "$TEST_TMP/last.ndjson"
  run ! grep -q 'name":"vm3"' "$TEST_TMP/last.ndjson"
}

@test "kv-domstats: an unreachable URI and a silent socket are reported; the good source still flows" {
  "$PYTHON3" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)  # accept, never answer
' "$TEST_TMP/silent-sock" &
  SILENT_PID=$!
  wait_for 50 test -S "$TEST_TMP/silent-sock"
  run --separate-stderr kv-domstats --once --timeout 2s \
    --uri "$URI_B" --uri "qemu+unix:///session?socket=$TEST_TMP/none-sock" \
    --uri "qemu+unix:///session?socket=$TEST_TMP/silent-sock"
  assert_success
  assert_output_contains '"name":"vm3"'
  assert_output_contains "\"kv_domstats_source_up\",\"type\":\"gauge\""
  [[ "$stderr" == *"cannot connect to qemu+unix:///session?socket=$TEST_TMP/none-sock"* ]] || flunk "$stderr"
  [[ "$stderr" == *"$TEST_TMP/silent-sock: a read has not returned within 2s"* ]] || flunk "$stderr"
  printf '%s\n' "$output" | kv-promfmt >"$TEST_TMP/out.prom"
  grep -q "^kv_domstats_source_up{source=\"qemu+unix:///session?socket=$TEST_TMP/none-sock\"} 0$" "$TEST_TMP/out.prom"
  grep -q "^kv_domstats_source_stuck{source=\"qemu+unix:///session?socket=$TEST_TMP/silent-sock\"} 1$" "$TEST_TMP/out.prom"
}

@test "kv-domstats: the vCPU pinning taken from the live XML equals virsh vcpupin's (virDomainGetVcpuPinInfo)" {
  [ "$(nproc)" -ge 2 ] || skip "needs 2 host CPUs"
  local dir="$E2E_TMP/p" uri
  libvirt_start "$dir"
  uri="$(libvirt_uri "$dir")"
  # Nothing pinned; one vCPU pinned live; a <vcpu cpuset> and a <vcpupin>
  # in the definition.
  libvirt_add_domain "$dir" default_pin1 kvpintap1
  libvirt_add_domain "$dir" default_pin2 kvpintap2
  libvirt_add_domain "$dir" default_pin3 kvpintap3
  virsh -q -c "$uri" vcpupin default_pin2 0 1 --live
  virsh -q -c "$uri" dumpxml --inactive default_pin3 |
    sed "s|<vcpu placement='static'>2</vcpu>|<vcpu placement='static' cpuset='0'>2</vcpu><cputune><vcpupin vcpu='1' cpuset='0-1'/></cputune>|" \
      >"$TEST_TMP/pin3.xml"
  grep -q "cpuset='0'" "$TEST_TMP/pin3.xml"
  virsh -q -c "$uri" define "$TEST_TMP/pin3.xml" >/dev/null
  virsh -q -c "$uri" destroy default_pin3 >/dev/null
  virsh -q -c "$uri" start --paused default_pin3 >/dev/null

  LIBVIRT_LOG_FILTERS="1:libvirt" LIBVIRT_LOG_OUTPUTS="1:file:$TEST_TMP/client.log" \
    kv-domstats --uri "$uri" --once --no-self-metrics | kv-promfmt >"$TEST_TMP/out.prom"
  # Taken from the XML: no pinning call was made.
  grep -q 'virDomainGetXMLDesc' "$TEST_TMP/client.log"
  if grep -q 'virDomainGetVcpuPinInfo' "$TEST_TMP/client.log"; then flunk "virDomainGetVcpuPinInfo was called"; fi
  local vm want got
  for vm in pin1 pin2 pin3; do
    # virsh vcpupin: one "VCPU  CPUs" line per vCPU; the CPUs as a cpuset.
    want="$(virsh -c "$uri" vcpupin "default_$vm" | "$PYTHON3" -c '
import re, sys
total = 0
for line in sys.stdin:
    m = re.match(r"\s*(\d+)\s+(\S+)\s*$", line)
    if not m: continue
    for part in m.group(2).split(","):
        a, _, b = part.partition("-")
        total += int(b or a) - int(a) + 1
print(total)')"
    got="$(series_value "$TEST_TMP/out.prom" "kubevirt_vmi_node_cpu_affinity{name=\"$vm\",namespace=\"default\",node=\"$(hostname)\"}")"
    echo "$vm: virsh vcpupin $want, kv-domstats $got"
    [ "$got" = "$want" ]
  done
  # The three differ, so the comparison tells them apart.
  [ "$(series_value "$TEST_TMP/out.prom" "kubevirt_vmi_node_cpu_affinity{name=\"pin1\",namespace=\"default\",node=\"$(hostname)\"}")" != \
    "$(series_value "$TEST_TMP/out.prom" "kubevirt_vmi_node_cpu_affinity{name=\"pin3\",namespace=\"default\",node=\"$(hostname)\"}")" ]
}

@test "kv-domstats: a malformed --replay file is a clear error with file and line" {
  printf '%s\n' '{"domain":"default_vm1","stats":{"cpu.time":1}}' '{"domain":"default_vm2","stats":[1]}' >"$TEST_TMP/bad.ndjson"
  run --separate-stderr kv-domstats --replay "$TEST_TMP/bad.ndjson"
  assert_status 1
  [[ "$stderr" == *"$TEST_TMP/bad.ndjson:2: \"stats\" must be an object"* ]] || flunk "$stderr"
  run --separate-stderr kv-domstats --replay "$TEST_TMP/missing.ndjson"
  assert_status 1
  [[ "$stderr" == *"cannot open $TEST_TMP/missing.ndjson: No such file or directory"* ]] || flunk "$stderr"
}
