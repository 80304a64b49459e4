#!/usr/bin/env bats
# kv-domstats --guest-agent end to end: a private libvirtd runs small Linux
# guests under TCG (Debian's kernel, an initramfs with busybox and Debian's
# qemu-ga, tests/helpers/build-guest), one with its agent, one without, and a
# paused domain. The values must equal what the agent reports, an agent that
# is missing or frozen must hold up nobody and be counted, and without
# --guest-agent no read-write connection may be opened. Runs as root.

load helpers/common
load helpers/libvirt

setup_file() {
  export E2E_TMP
  E2E_TMP="$(mktemp -d /tmp/kv-e2e-guest.XXXXXX)"
  chmod 0755 "$E2E_TMP"
  export KV_LIBVIRT_TAPS="$E2E_TMP/taps"
  stat -c %a /dev/net/tun >"$E2E_TMP/tun-mode"
  libvirt_setup_user
  libvirt_start "$E2E_TMP/g"
  libvirt_add_guest "$E2E_TMP/g" default_guest1 on
  libvirt_add_guest "$E2E_TMP/g" default_guest2 off
  libvirt_add_domain "$E2E_TMP/g" default_paused kvtapg1
  libvirt_wait_agent "$E2E_TMP/g" default_guest1
}

teardown_file() {
  libvirt_stop "$E2E_TMP/g"
  libvirt_cleanup
  [ -f "$E2E_TMP/tun-mode" ] && chmod "$(cat "$E2E_TMP/tun-mode")" /dev/net/tun
  rm -rf "$E2E_TMP"
}

setup() {
  common_setup
  URI="$(libvirt_uri "$E2E_TMP/g")"
  L1='name="guest1",namespace="default",node="node01"'
}

teardown() {
  if [ -n "${DOMSTATS_PID:-}" ]; then kill "$DOMSTATS_PID" 2>/dev/null || true; fi
  # shellcheck disable=SC2016 # the guest's shell expands $(pidof qemu-ga)
  libvirt_guest_console "$E2E_TMP/g" default_guest1 'kill -CONT $(pidof qemu-ga)'
  common_teardown
}

agent() {  # DOMAIN COMMAND: the agent's reply, through virsh
  virsh -c "$URI" qemu-agent-command --timeout 5 "$1" "{\"execute\":\"$2\"}"
}

# The clients of the private libvirtd that process PID opened, one line
# each: "readonly: yes" or "readonly: no" (the admin socket is the test
# user's).
libvirt_clients_of() {  # PID
  libvirt_as_user "$E2E_TMP/g" "
    a='libvirtd:///session?socket=$E2E_TMP/g/run/libvirt/libvirt-admin-sock'
    for id in \$(virt-admin -c \"\$a\" srv-clients-list libvirtd | awk 'NR > 2 {print \$1}'); do
      virt-admin -c \"\$a\" client-info libvirtd \$id | awk -v pid=$1 '
        /^readonly/ {ro = \$NF} /^unix_process_id/ && \$NF == pid {print \"readonly: \" ro}'
    done"
}

clients_are() {  # PID "readonly: yes|no" COUNT
  [ "$(libvirt_clients_of "$1" | grep -cx "$2")" = "$3" ]
}

# Splits a stream into snapshots: DIR/snap.N.ndjson, N from 1.
split_snapshots() {  # STREAM DIR
  awk -v d="$2" '{print > (d "/snap." n ".ndjson")} /"end"/ {close(d "/snap." n ".ndjson"); n++}' n=1 "$1"
}

@test "kv-domstats --guest-agent: filesystems equal what the agent reports, with KubeVirt's labels" {
  agent default_guest1 guest-get-fsinfo >"$TEST_TMP/fsinfo.json"
  virsh -c "$URI" guestinfo --filesystem default_guest1 >"$TEST_TMP/guestinfo.txt"
  kv-domstats --uri "$URI" --once --guest-agent --node node01 >"$TEST_TMP/samples.ndjson"
  kv-promfmt "$TEST_TMP/samples.ndjson" >"$TEST_TMP/out.prom"
  promtool check metrics <"$TEST_TMP/out.prom"
  grep -q "^kubevirt_vmi_filesystem_capacity_bytes{disk_name=\"vda1\",file_system_type=\"ext4\",mount_point=\"/data\",$L1} " "$TEST_TMP/out.prom"
  "$PYTHON3" - "$TEST_TMP/out.prom" "$TEST_TMP/fsinfo.json" "$TEST_TMP/guestinfo.txt" "$L1" <<'PY'
import json, re, sys
prom, fsinfo, guestinfo, vm = sys.argv[1:]
got = {}
for line in open(prom):
    if line.startswith("kubevirt_vmi_filesystem_"):
        series, value = line.rsplit(" ", 1)
        got[series] = float(value)
agent = json.load(open(fsinfo))["return"]
virsh = dict(re.findall(r"^(fs\.\S+)\s*:\s*(.*)$", open(guestinfo).read(), re.M))
assert agent, "the agent reports no filesystem"
want = {}
for i, fs in enumerate(agent):
    labels = 'disk_name="%s",file_system_type="%s",mount_point="%s",%s' % (
        fs["name"], fs["type"], fs["mountpoint"], vm)
    want["kubevirt_vmi_filesystem_capacity_bytes{%s}" % labels] = fs["total-bytes"]
    want["kubevirt_vmi_filesystem_used_bytes{%s}" % labels] = fs["used-bytes"]
    # libvirt's own view of the same agent answer agrees.
    assert virsh["fs.%d.name" % i] == fs["name"], (virsh, fs)
    assert int(virsh["fs.%d.total-bytes" % i]) == fs["total-bytes"], (virsh, fs)
    assert int(virsh["fs.%d.used-bytes" % i]) == fs["used-bytes"], (virsh, fs)
for series, value in sorted(want.items()):
    print(series, "agent", value, "kv-domstats", got.get(series))
assert got == want, "kv-domstats and the agent differ"
PY
}

@test "kv-domstats --guest-agent: the load follows what the agent offers (qemu-ga 7.2 has no guest-get-load)" {
  agent default_guest1 guest-info >"$TEST_TMP/info.json"
  kv-domstats --uri "$URI" --once --guest-agent --node node01 | kv-promfmt >"$TEST_TMP/out.prom"
  grep -qx "kv_domstats_guest_agent_command_supported{command=\"guest-get-fsinfo\",$L1} 1" "$TEST_TMP/out.prom"
  if jq -e '.return.supported_commands[] | select(.name == "guest-get-load" and .enabled)' "$TEST_TMP/info.json" >/dev/null; then
    grep -qx "kv_domstats_guest_agent_command_supported{command=\"guest-get-load\",$L1} 1" "$TEST_TMP/out.prom"
    grep -q "^kubevirt_vmi_guest_load_1m{$L1} " "$TEST_TMP/out.prom"
  else
    grep -qx "kv_domstats_guest_agent_command_supported{command=\"guest-get-load\",$L1} 0" "$TEST_TMP/out.prom"
    ! grep -q '^kubevirt_vmi_guest_load' "$TEST_TMP/out.prom"
    # Because the agent indeed does not know the command.
    run agent default_guest1 guest-get-load
    assert_status 1
    assert_output_contains "guest-get-load has not been found"
  fi
}

@test "kv-domstats --guest-agent: a guest without an agent and a paused VM are counted at once and hold up nobody" {
  local t0 t1
  t0="$(date +%s%N)"
  kv-domstats --uri "$URI" --once --guest-agent --guest-agent-timeout 3s --node node01 >"$TEST_TMP/samples.ndjson"
  t1="$(date +%s%N)"
  # Both fail at once: --once does not wait for the agent timeout.
  [ $(((t1 - t0) / 1000000)) -lt 2500 ] || flunk "took $(((t1 - t0) / 1000000)) ms"
  kv-promfmt "$TEST_TMP/samples.ndjson" >"$TEST_TMP/out.prom"
  local l2='name="guest2",namespace="default",node="node01"' lp='name="paused",namespace="default",node="node01"'
  grep -qx "kv_domstats_guest_agent_up{$l2} 0" "$TEST_TMP/out.prom"
  grep -qx "kv_domstats_guest_agent_errors_total{$l2,reason=\"not_connected\"} 1" "$TEST_TMP/out.prom"
  grep -qx "kv_domstats_guest_agent_up{$lp} 0" "$TEST_TMP/out.prom"
  grep -qx "kv_domstats_guest_agent_errors_total{$lp,reason=\"not_running\"} 1" "$TEST_TMP/out.prom"
  grep -qx "kv_domstats_guest_agent_up{$L1} 1" "$TEST_TMP/out.prom"
  grep -q "^kubevirt_vmi_filesystem_used_bytes{.*,$L1} " "$TEST_TMP/out.prom"
  # Their domain stats are all there.
  grep -q "^kubevirt_vmi_cpu_usage_seconds_total{$l2} " "$TEST_TMP/out.prom"
  grep -q "^kubevirt_vmi_memory_domain_bytes{$lp} " "$TEST_TMP/out.prom"
  run ! grep -q "^kubevirt_vmi_filesystem_.*$l2" "$TEST_TMP/out.prom"
}

@test "kv-domstats --guest-agent: a frozen agent holds --once up for its own timeout only, and is reported" {
  # shellcheck disable=SC2016 # the guest's shell expands $(pidof qemu-ga)
  libvirt_guest_console "$E2E_TMP/g" default_guest1 'kill -STOP $(pidof qemu-ga)'
  local t0 t1
  t0="$(date +%s%N)"
  kv-domstats --uri "$URI" --once --guest-agent --guest-agent-timeout 1s --timeout 10s --node node01 \
    >"$TEST_TMP/samples.ndjson" 2>"$TEST_TMP/err"
  t1="$(date +%s%N)"
  [ $(((t1 - t0) / 1000000)) -lt 2500 ] || flunk "took $(((t1 - t0) / 1000000)) ms"
  kv-promfmt "$TEST_TMP/samples.ndjson" >"$TEST_TMP/out.prom"
  grep -qx "kv_domstats_guest_agent_up{$L1} 0" "$TEST_TMP/out.prom"
  # Still waiting for libvirt, or libvirt already gave up: either is told.
  grep -qx "kv_domstats_guest_agent_stuck{$L1} 1" "$TEST_TMP/out.prom" ||
    grep -qx "kv_domstats_guest_agent_errors_total{$L1,reason=\"timeout\"} 1" "$TEST_TMP/out.prom" ||
    flunk "$(grep guest_agent "$TEST_TMP/out.prom")"
  grep -q "^kubevirt_vmi_cpu_usage_seconds_total{$L1} " "$TEST_TMP/out.prom"
  grep -q '^kubevirt_vmi_cpu_usage_seconds_total{name="guest2",' "$TEST_TMP/out.prom"
}

@test "kv-domstats --guest-agent: under --interval a frozen agent slows no cycle, keeps its last filesystems, and answers again after a thaw" {
  kv-domstats --uri "$URI" --interval 1s --timeout 3s --guest-agent --guest-agent-timeout 1s \
    --guest-agent-interval 1s --node node01 >"$TEST_TMP/stream.ndjson" 2>"$TEST_TMP/err" &
  DOMSTATS_PID=$!
  wait_for 100 grep -q '"kubevirt_vmi_filesystem_used_bytes".*"guest1"' "$TEST_TMP/stream.ndjson"
  # shellcheck disable=SC2016 # the guest's shell expands $(pidof qemu-ga)
  libvirt_guest_console "$E2E_TMP/g" default_guest1 'kill -STOP $(pidof qemu-ga)'
  wait_for 200 grep -q '"kv_domstats_guest_agent_errors_total".*"guest1".*"timeout"' "$TEST_TMP/stream.ndjson"
  local frozen
  frozen="$(grep -c '"end"' "$TEST_TMP/stream.ndjson")"
  # A few more cycles while frozen: libvirt waits 5 s for the agent to sync.
  wait_for 200 bash -c "[ \$(grep -c '\"end\"' '$TEST_TMP/stream.ndjson') -ge $((frozen + 6)) ]"
  local thawed thawed_line
  thawed="$(grep -c '"end"' "$TEST_TMP/stream.ndjson")"
  thawed_line="$(wc -l <"$TEST_TMP/stream.ndjson")"
  # shellcheck disable=SC2016 # the guest's shell expands $(pidof qemu-ga)
  libvirt_guest_console "$E2E_TMP/g" default_guest1 'kill -CONT $(pidof qemu-ga)'
  wait_for 200 bash -c "tail -n +$thawed_line '$TEST_TMP/stream.ndjson' | grep -q '\"kv_domstats_guest_agent_up\".*\"guest1\".*\"value\":1'"
  kill "$DOMSTATS_PID"
  wait "$DOMSTATS_PID" || true
  DOMSTATS_PID=
  split_snapshots "$TEST_TMP/stream.ndjson" "$TEST_TMP"
  "$PYTHON3" - "$TEST_TMP" "$frozen" "$thawed" <<'PY'
import glob, json, sys
d, frozen, thawed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
snaps = sorted(glob.glob(d + "/snap.*.ndjson"), key=lambda p: int(p.split(".")[-2]))
ends, bad = [], 0
for n, path in enumerate(snaps, 1):
    lines = [json.loads(l) for l in open(path)]
    end = [l for l in lines if "end" in l]
    if not end:
        continue  # the cut-off tail
    ends.append(end[0]["ts"])
    samples = [l for l in lines if "name" in l]
    def has(metric, **labels):
        return [s for s in samples if s["name"] == metric
                and all(s["labels"].get(k) == v for k, v in labels.items())]
    cycle = has("kv_domstats_cycle_duration_seconds")[0]["value"]
    if cycle >= 1:
        print(f"snapshot {n}: cycle took {cycle} s"); bad += 1
    for vm in ("guest2", "paused"):
        if not has("kubevirt_vmi_cpu_usage_seconds_total", name=vm):
            print(f"snapshot {n}: no samples of {vm}"); bad += 1
    # guest2's agent calls, answered at once, never wait behind guest1's.
    reasons = {s["labels"]["reason"] for s in has("kv_domstats_guest_agent_errors_total", name="guest2")}
    if reasons - {"not_connected"}:
        print(f"snapshot {n}: guest2 failed with {reasons}"); bad += 1
    if frozen < n <= thawed:
        # The filesystems read before the freeze stay.
        if not has("kubevirt_vmi_filesystem_used_bytes", name="guest1", disk_name="vda1"):
            print(f"snapshot {n}: guest1's filesystems are gone while frozen"); bad += 1
        if has("kv_domstats_guest_agent_up", name="guest1")[0]["value"] != 0:
            print(f"snapshot {n}: guest1's agent is up while frozen"); bad += 1
gaps = [b - a for a, b in zip(ends, ends[1:])]
print("snapshots", len(ends), "largest gap", max(gaps), "ms")
if max(gaps) > 2500:
    print("a cycle was held up"); bad += 1
sys.exit(bad)
PY
}

@test "kv-domstats: no read-write connection without --guest-agent, one per KubeVirt VM with it (shared with --dirty-rate)" {
  kv-domstats --uri "$URI" --interval 1s >/dev/null 2>&1 &
  DOMSTATS_PID=$!
  # Read-only: one for the stats, one for the lifecycle events.
  wait_for 100 clients_are "$DOMSTATS_PID" "readonly: yes" 2
  run libvirt_clients_of "$DOMSTATS_PID"
  assert_output "$(printf 'readonly: yes\nreadonly: yes')"
  kill "$DOMSTATS_PID"
  wait "$DOMSTATS_PID" || true

  kv-domstats --uri "$URI" --interval 1s --guest-agent >/dev/null 2>&1 &
  DOMSTATS_PID=$!
  # guest1, guest2 and paused each have their own; the bulk read and the
  # events have one each.
  wait_for 100 clients_are "$DOMSTATS_PID" "readonly: no" 3
  run libvirt_clients_of "$DOMSTATS_PID"
  [ "$(grep -c 'readonly: no' <<<"$output")" = 3 ] || flunk "$output"
  [ "$(grep -c 'readonly: yes' <<<"$output")" = 2 ] || flunk "$output"
  kill "$DOMSTATS_PID"
  wait "$DOMSTATS_PID" || true

  # The dirty rate uses the same per-VM connection as the guest agent.
  kv-domstats --uri "$URI" --interval 1s --guest-agent --dirty-rate >/dev/null 2>&1 &
  DOMSTATS_PID=$!
  wait_for 100 clients_are "$DOMSTATS_PID" "readonly: no" 3
  sleep 2
  run libvirt_clients_of "$DOMSTATS_PID"
  [ "$(grep -c 'readonly: no' <<<"$output")" = 3 ] || flunk "$output"
}

@test "kv-domstats --raw --guest-agent records the agent's answers; --replay maps them alike" {
  kv-domstats --uri "$URI" --once --guest-agent --raw >"$TEST_TMP/rec.ndjson"
  [ "$(jq -r 'select(.domain == "default_guest1") | .guest.filesystems[0].name' "$TEST_TMP/rec.ndjson")" = vda1 ]
  [ "$(jq -c 'select(.domain == "default_guest2") | .guest' "$TEST_TMP/rec.ndjson")" = '{}' ]
  kv-domstats --replay "$TEST_TMP/rec.ndjson" --node node01 | kv-promfmt | grep '^kubevirt_vmi_filesystem' >"$TEST_TMP/replayed"
  kv-domstats --uri "$URI" --once --guest-agent --node node01 | kv-promfmt | grep '^kubevirt_vmi_filesystem' >"$TEST_TMP/live"
  [ -s "$TEST_TMP/live" ]
  diff -u "$TEST_TMP/live" "$TEST_TMP/replayed"
}
