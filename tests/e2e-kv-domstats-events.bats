#!/usr/bin/env bats
# kv-domstats' guest panic counter, deprecated machine types and --dirty-rate
# end to end: a private libvirtd runs small Linux guests under TCG (Debian's
# kernel and an initramfs with busybox, tests/helpers/build-guest), one with
# a pvpanic device that a test makes panic through its serial console, one
# that keeps writing to its memory, and a paused domain. Runs as root.

load helpers/common
load helpers/libvirt

# Domain and tap names of these tests only: other suites run on this machine.
PANIC=default_kvdspanic
DIRTY=default_kvdsdirty
PAUSED=default_kvdspaused

setup_file() {
  export E2E_TMP
  E2E_TMP="$(mktemp -d /tmp/kv-e2e-events.XXXXXX)"
  chmod 0755 "$E2E_TMP"
  export KV_LIBVIRT_TAPS="$E2E_TMP/taps"
  stat -c %a /dev/net/tun >"$E2E_TMP/tun-mode"
  libvirt_setup_user
  libvirt_start "$E2E_TMP/e"
  # ACPI, so the guest finds the ISA pvpanic device; a crashed guest stays
  # as it is, as KubeVirt's do.
  libvirt_add_guest "$E2E_TMP/e" "$PANIC" on "<panic model='isa'/>" \
    "<features><acpi/></features><on_crash>preserve</on_crash>"
  libvirt_add_guest "$E2E_TMP/e" "$DIRTY" on
  libvirt_add_domain "$E2E_TMP/e" "$PAUSED" kvdse1
  libvirt_wait_agent "$E2E_TMP/e" "$PANIC"
  libvirt_wait_agent "$E2E_TMP/e" "$DIRTY"
  # 8 MiB of fresh random data, over and over: a dirty rate well above 0.
  libvirt_guest_console "$E2E_TMP/e" "$DIRTY" \
    '(while :; do dd if=/dev/urandom of=/tmp/x bs=64k count=128 2>/dev/null; done) &'
}

teardown_file() {
  libvirt_stop "$E2E_TMP/e"
  libvirt_cleanup
  [ -f "$E2E_TMP/tun-mode" ] && chmod "$(cat "$E2E_TMP/tun-mode")" /dev/net/tun
  rm -rf "$E2E_TMP"
}

setup() {
  common_setup
  URI="$(libvirt_uri "$E2E_TMP/e")"
  # The session daemon's domain logs (XDG_CACHE_HOME of libvirt.bash).
  LOGS="$E2E_TMP/e/cache/libvirt/qemu/log"
}

teardown() {
  local pid
  for pid in $(libvirt_qemu_pid "$E2E_TMP/e" "$DIRTY"); do kill -CONT "$pid" 2>/dev/null || true; done
  if [ -n "${DOMSTATS_PID:-}" ]; then kill "$DOMSTATS_PID" 2>/dev/null || true; fi
  common_teardown
}

# Splits a stream into snapshots: DIR/snap.N.ndjson, N from 1.
split_snapshots() {  # STREAM DIR
  awk -v d="$2" '{print > (d "/snap." n ".ndjson")} /"end"/ {close(d "/snap." n ".ndjson"); n++}' n=1 "$1"
}

stop_domstats() {
  kill "$DOMSTATS_PID"
  wait "$DOMSTATS_PID" || true
  DOMSTATS_PID=
}

# Makes the panic guest panic: the kernel's panic notifier writes to the
# pvpanic device, QEMU stops the guest, libvirt sends CRASHED/PANICKED.
panic_guest() {
  # Its pvpanic driver has found the device (else the panic stays in the guest).
  run libvirt_guest_console_read "$E2E_TMP/e" "$PANIC" 'ls /sys/bus/platform/drivers/pvpanic-mmio/'
  assert_output_contains "QEMU0001:00"
  libvirt_guest_console "$E2E_TMP/e" "$PANIC" 'echo c > /proc/sysrq-trigger'
  wait_for 100 bash -c "virsh -c '$URI' domstate --reason '$PANIC' | grep -qx 'crashed (panicked)'"
}

restart_panic_guest() {
  virsh -q -c "$URI" destroy "$PANIC" >/dev/null
  virsh -q -c "$URI" start "$PANIC" >/dev/null
  libvirt_wait_agent "$E2E_TMP/e" "$PANIC"
}

@test "kv-domstats: deprecated machine types are what virsh capabilities marks deprecated, each once" {
  virsh -c "$URI" capabilities >"$TEST_TMP/caps.xml"
  "$PYTHON3" - "$TEST_TMP/caps.xml" >"$TEST_TMP/want" <<'PY'
import sys, xml.etree.ElementTree as ET
caps = ET.parse(sys.argv[1])
names = {m.text for m in caps.findall("./guest/arch/machine") if m.get("deprecated") == "yes"}
for n in sorted(names):
    print('kubevirt_node_deprecated_machine_types{machine_type="%s",node="node01"} 1' % n)
PY
  # Debian 12's QEMU 7.2 deprecates the oldest pc-i440fx versions.
  [ -s "$TEST_TMP/want" ] || flunk "virsh lists no deprecated machine type"
  kv-domstats --uri "$URI" --once --node node01 | kv-promfmt >"$TEST_TMP/out.prom"
  grep '^kubevirt_node_deprecated_machine_types' "$TEST_TMP/out.prom" >"$TEST_TMP/got"
  diff -u "$TEST_TMP/want" "$TEST_TMP/got"
  grep -q '^kv_domstats_source_capabilities_errors_total{source=".*"} 0$' "$TEST_TMP/out.prom"
  # The same URI twice over is one source; two sources of one node (per-VM
  # sockets) still give each machine type once.
  ln -s "$E2E_TMP/e/run/libvirt/libvirt-sock" "$TEST_TMP/second-sock"
  kv-domstats --uri "$URI" --uri "qemu+unix:///session?socket=$TEST_TMP/second-sock" --once \
    --node node01 | kv-promfmt | grep '^kubevirt_node_deprecated_machine_types' >"$TEST_TMP/got2"
  diff -u "$TEST_TMP/want" "$TEST_TMP/got2"
}

@test "kv-domstats --interval: a guest panic counts 1 while the stream runs, type unknown (pvpanic); the other VMs keep flowing" {
  kv-domstats --uri "$URI" --interval 1s --timeout 3s --node node01 --domain-log "$LOGS/{domain}.log" \
    >"$TEST_TMP/stream.ndjson" 2>"$TEST_TMP/err" &
  DOMSTATS_PID=$!
  wait_for 100 grep -q '"kv_domstats_source_events_up".*"value":1' "$TEST_TMP/stream.ndjson"
  if grep -q kubevirt_vmi_guest_os_panic_total "$TEST_TMP/stream.ndjson"; then flunk "a panic counted"; fi
  panic_guest
  wait_for 100 grep -q '"kubevirt_vmi_guest_os_panic_total"' "$TEST_TMP/stream.ndjson"
  local first
  first="$(grep -c '"end"' "$TEST_TMP/stream.ndjson")"
  wait_for 100 bash -c "[ \$(grep -c '\"end\"' '$TEST_TMP/stream.ndjson') -ge $((first + 4)) ]"
  stop_domstats
  grep -q "$PANIC: guest panicked (no panic information)" "$TEST_TMP/err" || flunk "$(cat "$TEST_TMP/err")"
  split_snapshots "$TEST_TMP/stream.ndjson" "$TEST_TMP"
  "$PYTHON3" - "$TEST_TMP" <<'PY'
import glob, json, sys
d = sys.argv[1]
snaps = sorted(glob.glob(d + "/snap.*.ndjson"), key=lambda p: int(p.split(".")[-2]))
bad, counted, ends = 0, 0, []
want = {"namespace": "default", "name": "kvdspanic", "type": "unknown", "bugcheck_code": "unknown"}
for n, path in enumerate(snaps, 1):
    lines = [json.loads(l) for l in open(path)]
    end = [l for l in lines if "end" in l]
    if not end:
        continue
    ends.append(end[0]["ts"])
    samples = [l for l in lines if "name" in l]
    panics = [s for s in samples if s["name"] == "kubevirt_vmi_guest_os_panic_total"]
    if counted and not panics:
        print(f"snapshot {n}: the count is gone"); bad += 1
    for p in panics:
        counted += 1
        if p["labels"] != want or p["value"] != 1 or p["type"] != "counter":
            print(f"snapshot {n}: {p}"); bad += 1
    for vm in ("kvdsdirty", "kvdspaused"):
        if not [s for s in samples if s["name"] == "kubevirt_vmi_cpu_usage_seconds_total"
                and s["labels"]["name"] == vm]:
            print(f"snapshot {n}: no samples of {vm}"); bad += 1
    # Up from the first snapshot on: the cycle that opens it waits for it.
    up = [s["value"] for s in samples if s["name"] == "kv_domstats_source_events_up"]
    if up != [1]:
        print(f"snapshot {n}: events_up {up}"); bad += 1
gaps = [b - a for a, b in zip(ends, ends[1:])]
print("snapshots", len(ends), "with the count", counted, "largest gap", max(gaps), "ms")
if counted < 4:
    print("the count was not kept"); bad += 1
if max(gaps) > 2500:
    print("a cycle was held up"); bad += 1
sys.exit(bad)
PY
}

@test "kv-domstats --interval: the panic details libvirt logs become type and bugcheck_code; a restarted guest's panic counts again; earlier ones do not" {
  # The guest of the previous test is still crashed: a panic from before
  # this kv-domstats started, which it does not count.
  kv-domstats --uri "$URI" --interval 1s --timeout 3s --node node01 --domain-log "$LOGS/{domain}.log" \
    >"$TEST_TMP/stream.ndjson" 2>"$TEST_TMP/err" &
  DOMSTATS_PID=$!
  wait_for 100 grep -q '"kv_domstats_source_events_up".*"value":1' "$TEST_TMP/stream.ndjson"
  restart_panic_guest
  # Hyper-V reports a bug-check code; libvirt writes it to the domain log
  # as below. TCG runs no Hyper-V enlightenments, so no guest here can make
  # it: the test writes the line where libvirt would, before the panic.
  [ -f "$LOGS/$PANIC.log" ]
  printf '%s: panic hyper-v: arg1='"'"'0x7e'"'"', arg2='"'"'0xffffffffc0000005'"'"', arg3='"'"'0xfffff80412a1b2c3'"'"', arg4='"'"'0xffff8a0c1d2e3f40'"'"', arg5='"'"'0x0'"'"'\n' \
    "$(date -u '+%F %T.000+0000')" >>"$LOGS/$PANIC.log"
  panic_guest
  local series='kubevirt_vmi_guest_os_panic_total{bugcheck_code="0x7e",name="kvdspanic",namespace="default",type="hyper-v"}'
  last_prom() {
    awk '/"end"/ {last = buf; buf = ""; next} {buf = buf $0 "\n"} END {printf "%s", last}' \
      "$TEST_TMP/stream.ndjson" | kv-promfmt
  }
  wait_for 100 bash -c "$(declare -f last_prom); TEST_TMP='$TEST_TMP' last_prom | grep -qxF '$series 1'"
  # Another run of the domain: its panic counts again. The log's last panic
  # line is still the one above (KubeVirt reads it alike).
  restart_panic_guest
  panic_guest
  wait_for 100 bash -c "$(declare -f last_prom); TEST_TMP='$TEST_TMP' last_prom | grep -qxF '$series 2'"
  last_prom | grep '^kubevirt_vmi_guest_os_panic_total' >"$TEST_TMP/panics"
  stop_domstats
  # Only these two: the panic of the previous test came before this process.
  [ "$(wc -l <"$TEST_TMP/panics")" = 1 ] || flunk "$(cat "$TEST_TMP/panics")"
  grep -q "$PANIC: guest panicked (hyper-v: arg1='0x7e'" "$TEST_TMP/err" || flunk "$(cat "$TEST_TMP/err")"
}

@test "kv-domstats --dirty-rate: a running guest's rate is in the magnitude virsh measures, in bytes per second; a paused VM gets none" {
  local i l='name="kvdsdirty",namespace="default",node="node01"'
  : >"$TEST_TMP/ours"
  : >"$TEST_TMP/virsh"
  for i in 1 2 3; do
    kv-domstats --uri "$URI" --once --dirty-rate --node node01 | kv-promfmt >"$TEST_TMP/out.$i.prom"
    grep "^kubevirt_vmi_dirty_rate_bytes_per_second{$l} " "$TEST_TMP/out.$i.prom" | awk '{print $2}' >>"$TEST_TMP/ours"
    virsh -q -c "$URI" domdirtyrate-calc "$DIRTY" --seconds 1 >/dev/null
    wait_for 50 bash -c "virsh -c '$URI' domstats --dirtyrate '$DIRTY' | grep -q 'calc_status=2'"
    virsh -c "$URI" domstats --dirtyrate "$DIRTY" | sed -n 's/^ *dirtyrate.megabytes_per_second=//p' >>"$TEST_TMP/virsh"
  done
  "$PYTHON3" - "$TEST_TMP/ours" "$TEST_TMP/virsh" <<'PY'
import statistics, sys
ours = [float(x) for x in open(sys.argv[1])]
virsh = [float(x) * 1024 * 1024 for x in open(sys.argv[2])]
print("kv-domstats", ours, "virsh (MiB/s as bytes)", virsh)
assert len(ours) == 3 and len(virsh) == 3, "a measurement is missing"
assert all(v % (1024 * 1024) == 0 for v in ours), "not MiB/s times 1024 * 1024"
a, b = statistics.median(ours), statistics.median(virsh)
assert a > 0 and b > 0, "the writing guest measures no dirty rate"
assert 0.25 <= a / b <= 4, f"medians {a} and {b} differ by more than 4x"
PY
  local lp='name="kvdspaused",namespace="default",node="node01"'
  if grep -q "^kubevirt_vmi_dirty_rate_bytes_per_second{$lp}" "$TEST_TMP/out.1.prom"; then flunk "a dirty rate of the paused domain"; fi
  grep -qx "kv_domstats_dirty_rate_up{$lp} 0" "$TEST_TMP/out.1.prom"
  grep -qx "kv_domstats_dirty_rate_errors_total{$lp,reason=\"not_running\"} 1" "$TEST_TMP/out.1.prom"
  grep -qx "kv_domstats_dirty_rate_up{$l} 1" "$TEST_TMP/out.1.prom"
  # Without --dirty-rate there is no value and no calculation.
  kv-domstats --uri "$URI" --once --node node01 | kv-promfmt >"$TEST_TMP/off.prom"
  if grep -q 'dirty_rate' "$TEST_TMP/off.prom"; then flunk "a dirty rate without --dirty-rate"; fi
}

@test "kv-domstats --dirty-rate: a frozen QEMU keeps its last value, is reported stuck and slows no cycle" {
  kv-domstats --uri "$URI" --interval 1s --timeout 3s --dirty-rate --dirty-rate-interval 1s --node node01 \
    >"$TEST_TMP/stream.ndjson" 2>"$TEST_TMP/err" &
  DOMSTATS_PID=$!
  wait_for 100 grep -q '"kubevirt_vmi_dirty_rate_bytes_per_second".*"kvdsdirty"' "$TEST_TMP/stream.ndjson"
  local qemu
  qemu="$(libvirt_qemu_pid "$E2E_TMP/e" "$DIRTY")"
  [ -n "$qemu" ]
  kill -STOP "$qemu"
  local frozen
  frozen="$(grep -c '"end"' "$TEST_TMP/stream.ndjson")"
  wait_for 200 grep -q '"kv_domstats_dirty_rate_stuck".*"kvdsdirty".*"value":1' "$TEST_TMP/stream.ndjson"
  local stuck
  stuck="$(grep -c '"end"' "$TEST_TMP/stream.ndjson")"
  kill -CONT "$qemu"
  wait_for 100 bash -c "[ \$(grep -c '\"end\"' '$TEST_TMP/stream.ndjson') -ge $((stuck + 2)) ]"
  stop_domstats
  split_snapshots "$TEST_TMP/stream.ndjson" "$TEST_TMP"
  "$PYTHON3" - "$TEST_TMP" "$frozen" "$stuck" <<'PY'
import glob, json, sys
d, frozen, stuck = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
snaps = sorted(glob.glob(d + "/snap.*.ndjson"), key=lambda p: int(p.split(".")[-2]))
bad, ends = 0, []
for n, path in enumerate(snaps, 1):
    lines = [json.loads(l) for l in open(path)]
    end = [l for l in lines if "end" in l]
    if not end:
        continue
    ends.append(end[0]["ts"])
    samples = [l for l in lines if "name" in l]
    rate = [s for s in samples if s["name"] == "kubevirt_vmi_dirty_rate_bytes_per_second"
            and s["labels"]["name"] == "kvdsdirty"]
    if frozen < n <= stuck and not rate:
        print(f"snapshot {n}: the frozen guest's dirty rate is gone"); bad += 1
    if not [s for s in samples if s["name"] == "kubevirt_vmi_memory_domain_bytes"
            and s["labels"]["name"] == "kvdspaused"]:
        print(f"snapshot {n}: no samples of kvdspaused"); bad += 1
gaps = [b - a for a, b in zip(ends, ends[1:])]
print("snapshots", len(ends), "frozen from", frozen, "stuck by", stuck, "largest gap", max(gaps), "ms")
# A cycle may wait up to --timeout (3 s) for a stats read stuck on the
# frozen QEMU; never for the dirty rate.
if max(gaps) > 5000:  # --interval plus --timeout, and some slack
    print("a cycle was held up"); bad += 1
sys.exit(bad)
PY
}

@test "kv-domstats --interval: after libvirtd restarts, lifecycle events are registered again and a panic still counts" {
  local dir="$E2E_TMP/e"
  kv-domstats --uri "$URI" --interval 1s --timeout 2s --node node01 --domain-log "$LOGS/{domain}.log" \
    >"$TEST_TMP/stream.ndjson" 2>"$TEST_TMP/err" &
  DOMSTATS_PID=$!
  wait_for 100 grep -q '"kv_domstats_source_events_up".*"value":1' "$TEST_TMP/stream.ndjson"
  kill -9 "$(cat "$dir/libvirtd.pid")"
  wait_for 100 grep -q '"kv_domstats_source_events_up".*"value":0' "$TEST_TMP/stream.ndjson"
  local down
  down="$(wc -l <"$TEST_TMP/stream.ndjson")"
  libvirt_as_user "$dir" "libvirtd --daemon --pid-file='$dir/libvirtd.pid' --timeout 0" >/dev/null 2>&1
  wait_for 100 bash -c "tail -n +$down '$TEST_TMP/stream.ndjson' | grep -q '\"kv_domstats_source_events_up\".*\"value\":1'"
  grep -q 'lifecycle events: the daemon closed the connection' "$TEST_TMP/err" || flunk "$(cat "$TEST_TMP/err")"
  # The guests outlived their daemon; the crashed one starts anew and panics.
  restart_panic_guest
  panic_guest
  wait_for 100 bash -c "tail -n +$down '$TEST_TMP/stream.ndjson' | grep -q '\"kubevirt_vmi_guest_os_panic_total\".*\"kvdspanic\".*\"value\":1'"
  stop_domstats
}
