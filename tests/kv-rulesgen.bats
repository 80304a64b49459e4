#!/usr/bin/env bats
# kv-rulesgen: flags and usage errors, every release's output through
# promtool, the rules' promtool unit tests, parity with KubeVirt's own
# rules, determinism, and the installed layout.

setup() {
  load helpers/common
  common_setup
}

teardown() {
  common_teardown
}

# Writes the spec of a PrometheusRule (stdin) as a rule file, after checking
# that it is one.
prometheusrule_spec() {
  "$PYTHON3" -c '
import sys, yaml
doc = yaml.safe_load(sys.stdin)
assert doc["apiVersion"] == "monitoring.coreos.com/v1", doc["apiVersion"]
assert doc["kind"] == "PrometheusRule", doc["kind"]
meta = doc["metadata"]
assert meta["name"] and meta["namespace"], meta
assert all(isinstance(v, str) for v in meta["labels"].values()), meta["labels"]
assert set(doc) == {"apiVersion", "kind", "metadata", "spec"}, set(doc)
yaml.safe_dump(doc["spec"], sys.stdout)
'
}

@test "kv-rulesgen: --help on stdout with status 0; --version names yaml-cpp" {
  run --separate-stderr kv-rulesgen --help
  assert_success
  assert_output_contains "--kubevirt-version VERSION"
  [ -z "$stderr" ]
  run kv-rulesgen --version
  assert_success
  [[ "$output" =~ ^kv-rulesgen\ .+\ \(yaml-cpp\ [0-9]+\.[0-9]+\.[0-9]+\)$ ]] || flunk "$output"
}

@test "kv-rulesgen: usage errors exit 2 with the reason and write nothing" {
  local args
  while IFS='|' read -r args reason; do
    eval "set -- $args"
    run --separate-stderr kv-rulesgen "$@"
    assert_status 2
    [ -z "$output" ] || flunk "$args wrote: $output"
    [[ "$stderr" == *"$reason"* ]] || flunk "$args: $stderr"
  done <<'CASES'
-k v1.9 --namespace Kube_Virt|--namespace: "Kube_Virt": a namespace is
-k v1.9 --name -bad-|--name: "-bad-"
-k v1.9 --label team|--label: "team" is not KEY=VALUE
-k v1.9 --label "bad key=x"|--label: "bad key"
-k v1.9 --label team=a/b|--label: "a/b"
-k v1.9 -f rulefile --name x|--name and --label are for --format prometheusrule
-k v1.9 -f rulefile -l a=b|--name and --label are for --format prometheusrule
-k v1.9 --runbook-url-template 'https://x/%s/%s'|must hold exactly one %s
-k one.nine|--kubevirt-version: "one.nine" is not a KubeVirt version
-k v0.59|--kubevirt-version: v0.59 is not a release the rule sources know (v1.0 to v1.9)
-k v1.9 --select some|--select
--list --check|--list excludes --check
-k v1.9 --format yaml|--format
CASES
}

@test "kv-rulesgen: the rule sources pass --check" {
  run --separate-stderr kv-rulesgen --check
  assert_success
  [ -z "$output" ]
  [[ "$stderr" == *"rules for KubeVirt v1.0 to v1.9, no problems"* ]] || flunk "$stderr"
}

@test "kv-rulesgen: every release's rule file and PrometheusRule pass promtool check rules" {
  local v n=0
  for v in $(kv-rulesgen --list-releases); do
    kv-rulesgen -k "$v" -f rulefile >"$TEST_TMP/$v.rules.yaml"
    run promtool check rules "$TEST_TMP/$v.rules.yaml"
    [ "$status" -eq 0 ] || flunk "$v rule file: $output"
    kv-rulesgen -k "$v" -n openshift-cnv -l openshift.io/cluster-monitoring=true |
      prometheusrule_spec >"$TEST_TMP/$v.spec.yaml"
    run promtool check rules "$TEST_TMP/$v.spec.yaml"
    [ "$status" -eq 0 ] || flunk "$v PrometheusRule: $output"
    n=$((n + 1))
  done
  [ "$n" -eq 10 ] || flunk "$n releases"
}

@test "kv-rulesgen: the expected outputs of the golden cases pass promtool check rules" {
  local c n=0
  for c in "$KV_ROOT"/tests/cases/kv-rulesgen/*/; do
    grep -q -- '-k\|--kubevirt-version' "$c/args" || continue
    grep -q -- '--list' "$c/args" && continue
    [ -s "$c/expected.out" ] || continue
    if grep -q rulefile "$c/args"; then
      cp "$c/expected.out" "$TEST_TMP/rules.yaml"
    else
      prometheusrule_spec <"$c/expected.out" >"$TEST_TMP/rules.yaml"
    fi
    run promtool check rules "$TEST_TMP/rules.yaml"
    [ "$status" -eq 0 ] || flunk "$c: $output"
    n=$((n + 1))
  done
  [ "$n" -ge 5 ] || flunk "only $n cases"
}

@test "kv-rulesgen: the rules' promtool unit tests pass for every release, and cover every alert" {
  run "$KV_ROOT/rules/tests/run" --kv-rulesgen "$KV_BUILD/bin/kv-rulesgen"
  echo "$output"
  assert_success
  assert_output_contains "releases: 10, failures: 0"
  assert_output_contains "v1.9: 38 alerts, 58 recording rules"
}

@test "kv-rulesgen: the unit test runner fails on a wrong expectation and on an untested alert" {
  cp -r "$KV_ROOT/rules" "$TEST_TMP/rules"
  sed -i 's/summary: Not one virt-api pod has been running for 10 minutes./summary: Something else./' \
    "$TEST_TMP/rules/tests/components-down.test.yaml"
  run "$TEST_TMP/rules/tests/run" --kv-rulesgen "$KV_BUILD/bin/kv-rulesgen" v1.0
  assert_status 1
  assert_output_contains "FAIL v1.0: promtool test rules"
  rm "$TEST_TMP/rules/tests/migrations.test.yaml"
  run "$TEST_TMP/rules/tests/run" --kv-rulesgen "$KV_BUILD/bin/kv-rulesgen" v1.1
  assert_status 1
  assert_output_contains "FAIL v1.1: no test where KubeVirtVMIExcessiveMigrations fires"
  assert_output_contains "FAIL v1.1: no test where KubeVirtVMIExcessiveMigrations must not fire"
}

@test "kv-rulesgen: v1.9's rules are KubeVirt's: names, severities, impacts, for, labels, runbooks" {
  local ref="${KV_REFERENCE_DIR:-$KV_ROOT/../shared/reference}"
  [ -f "$ref/kubevirt-alerts.tsv" ] || flunk "no reference in $ref (set KV_REFERENCE_DIR)"
  kv-rulesgen -k v1.9 -n openshift-cnv -f rulefile >"$TEST_TMP/rules.yaml"
  run "$PYTHON3" - "$ref" "$TEST_TMP/rules.yaml" <<'PY'
import csv, sys, yaml
ref, path = sys.argv[1], sys.argv[2]
groups = {g["name"]: g["rules"] for g in yaml.safe_load(open(path))["groups"]}
assert list(groups) == ["recordingRules.rules", "alerts.rules"], list(groups)
alerts, records = groups["alerts.rules"], groups["recordingRules.rules"]
problems = []
rows = list(csv.DictReader(open(f"{ref}/kubevirt-alerts.tsv"), delimiter="\t"))
if len(alerts) != len(rows):
    problems.append(f"{len(alerts)} alerts, the reference has {len(rows)}")
for row in rows:
    found = [a for a in alerts if a["alert"] == row["alert"] and a["labels"]["severity"] == row["severity"]]
    if len(found) != 1:
        problems.append(f"{row['alert']} ({row['severity']}): {len(found)} alerts")
        continue
    a = found[0]
    want = {"severity": row["severity"], "operator_health_impact": row["operator_health_impact"],
            "kubernetes_operator_part_of": "kubevirt", "kubernetes_operator_component": "kubevirt"}
    if row["namespace_label"] == "yes":
        want["namespace"] = "openshift-cnv"
    if a["labels"] != want:
        problems.append(f"{row['alert']}: labels {a['labels']}, want {want}")
    if a.get("for", "") != row["for"]:
        problems.append(f"{row['alert']}: for {a.get('for')!r}, want {row['for']!r}")
    if a["annotations"].get("runbook_url") != "https://kubevirt.io/monitoring/runbooks/" + row["alert"]:
        problems.append(f"{row['alert']}: runbook_url {a['annotations'].get('runbook_url')}")
    if not a["annotations"].get("summary"):
        problems.append(f"{row['alert']}: no summary")
rows = list(csv.DictReader(open(f"{ref}/kubevirt-recording-rules.tsv"), delimiter="\t"))
got = sorted((r["record"], sorted(r.get("labels", {}).items())) for r in records)
want = sorted((r["record"], sorted(tuple(kv.split("=", 1)) for kv in r["labels"].split(",") if kv)) for r in rows)
if got != want:
    problems.append(f"recording rules differ: {[x for x in got if x not in want]} vs {[x for x in want if x not in got]}")
for name, rules in groups.items():
    keys = [r.get("alert", r.get("record")) + ":" + r["expr"] for r in rules]
    if keys != sorted(keys, key=lambda k: k.encode()):
        problems.append(f"{name} is not sorted by name:expr")
print("\n".join(problems) or f"{len(alerts)} alerts and {len(records)} recording rules as KubeVirt's")
sys.exit(1 if problems else 0)
PY
  echo "$output"
  assert_success
  assert_output_contains "39 alerts and 59 recording rules as KubeVirt's"
}

@test "kv-rulesgen: older releases get what their metrics allow, and the deprecated names they had" {
  run kv-rulesgen --list -k v1.0
  assert_success
  # Component health from kube-state-metrics: there from v1.0 on.
  assert_output_contains $'alert\tVirtAPIDown\tv1.0+'
  # Needs kubevirt_vmi_info, which v1.3 added.
  refute_output_contains "VMCannotBeEvicted"
  # v1.0's own name for the virt-api count, and no later one.
  assert_output_contains $'record\tkubevirt_virt_api_up_total\tv1.0\tdeprecated'
  refute_output_contains $'record\tkubevirt_virt_api_up\t'
  run kv-rulesgen --list -k v1.3
  assert_output_contains $'alert\tVMCannotBeEvicted\tv1.3+'
  assert_output_contains $'record\tkubevirt_virt_api_up\tv1.1+\tdeprecated'
  refute_output_contains "kubevirt_virt_api_up_total"
  # The VM count from the transition timestamps until kubevirt_vm_info (v1.4).
  run kv-rulesgen -k v1.3 -f rulefile
  assert_output_contains "kubevirt_vm_running_status_last_transition_timestamp_seconds"
  run kv-rulesgen -k v1.4 -f rulefile
  refute_output_contains "kubevirt_vm_running_status_last_transition_timestamp_seconds"
  assert_output_contains "count by (namespace) (group by (name, namespace) (kubevirt_vm_info))"
  run --separate-stderr kv-rulesgen --list -k v1.0 --log-level debug
  [[ "$stderr" == *"alert VMCannotBeEvicted: left out of v1.0: needs kubevirt_vmi_info (v1.3)"* ]] || flunk "$stderr"
  run kv-rulesgen -k v1.9 --no-deprecated --list
  assert_output_contains $'\tv1.0+\t-\t'
  refute_output_contains $'\tdeprecated\t'
}

@test "kv-rulesgen: the output is the same bytes wherever and however it is run" {
  kv-rulesgen -k v1.7 -n tenant-kv >"$TEST_TMP/a"
  (cd / && LC_ALL=de_DE.UTF-8 TZ=Asia/Tokyo "$KV_BUILD/bin/kv-rulesgen" -k v1.7.3 -n tenant-kv) >"$TEST_TMP/b"
  cp -r "$KV_ROOT/rules" "$TEST_TMP/rules-copy"
  kv-rulesgen -k 1.7 -n tenant-kv --rules-dir "$TEST_TMP/rules-copy" >"$TEST_TMP/c"
  assert_file_equals "$TEST_TMP/a" "$TEST_TMP/b"
  assert_file_equals "$TEST_TMP/a" "$TEST_TMP/c"
  grep -q 'namespace="tenant-kv"' "$TEST_TMP/a"
  run grep -c 'namespace="kubevirt"' "$TEST_TMP/a"
  [ "$output" = 0 ] || flunk "namespace=\"kubevirt\" left in the rules"
}

@test "kv-rulesgen: a missing rules directory is a runtime failure; bad sources write nothing" {
  run --separate-stderr kv-rulesgen -k v1.9 --rules-dir "$TEST_TMP/none"
  assert_status 1
  [[ "$stderr" == *"$TEST_TMP/none: not a directory of rule sources"* ]] || flunk "$stderr"
  cp -r "$KV_ROOT/rules" "$TEST_TMP/rules"
  sed -i 's/severity: critical/severity: urgent/' "$TEST_TMP/rules/virt-api.rules.yaml"
  run --separate-stderr kv-rulesgen -k v1.9 --rules-dir "$TEST_TMP/rules"
  assert_status 4
  [ -z "$output" ]
  [[ "$stderr" == *"virt-api.rules.yaml:"*": alert VirtAPIDown: severity \"urgent\" is not one of critical, warning, info"* ]] || flunk "$stderr"
}

@test "kv-rulesgen: a missing release list or external-metrics list is one problem, not one per rule" {
  cp -r "$KV_ROOT/rules" "$TEST_TMP/rules"
  rm "$TEST_TMP/rules/kubevirt-releases.yaml"
  run --separate-stderr kv-rulesgen --check --rules-dir "$TEST_TMP/rules"
  assert_status 4
  [[ "$stderr" == *"kubevirt-releases.yaml: cannot read the file"* ]] || flunk "$stderr"
  [[ "$stderr" == *"error: 1 problem in the rule sources"* ]] || flunk "$stderr"
  cp "$KV_ROOT/rules/kubevirt-releases.yaml" "$TEST_TMP/rules/"
  rm "$TEST_TMP/rules/external-metrics.yaml"
  run --separate-stderr kv-rulesgen --check --rules-dir "$TEST_TMP/rules"
  assert_status 4
  [[ "$stderr" == *"external-metrics.yaml: cannot read the file"* ]] || flunk "$stderr"
  [[ "$stderr" == *"error: 1 problem in the rule sources"* ]] || flunk "$stderr"
}

@test "kv-rulesgen: a misspelt expr is reported once as missing, beside the unknown key" {
  cp -r "$KV_ROOT/rules" "$TEST_TMP/rules"
  sed -i '0,/^\( *\)expr:/s//\1exp:/' "$TEST_TMP/rules/virt-api.rules.yaml"
  run --separate-stderr kv-rulesgen --check --rules-dir "$TEST_TMP/rules"
  assert_status 4
  [ "$(grep -c 'no expr' <<<"$stderr")" -eq 1 ] || flunk "$stderr"
  [[ "$stderr" == *"exp"* ]] || flunk "$stderr"
  [[ "$stderr" != *"expr is empty"* ]] || flunk "$stderr"
}

@test "kv-rulesgen: a closed stdout is a quiet exit" {
  run --separate-stderr bash -c "kv-rulesgen -k v1.9 | head -n 1 >/dev/null; echo \"\${PIPESTATUS[0]}\""
  assert_output 0
  [ -z "$stderr" ] || flunk "$stderr"
}

@test "kv-rulesgen: installed, it finds its rule sources beside itself" {
  run make -C "$KV_ROOT" BUILD="$KV_BUILD" install DESTDIR="$TEST_TMP/root" PREFIX=/opt/kv
  assert_success
  [ -f "$TEST_TMP/root/opt/kv/share/kv-monitoring/rules/virt-api.rules.yaml" ]
  [ -f "$TEST_TMP/root/opt/kv/share/kv-monitoring/rules/README.md" ]
  [ -f "$TEST_TMP/root/opt/kv/share/man/man1/kv-rulesgen.1" ]
  run "$TEST_TMP/root/opt/kv/bin/kv-rulesgen" --check
  assert_success
  "$TEST_TMP/root/opt/kv/bin/kv-rulesgen" -k v1.9 >"$TEST_TMP/installed.yaml"
  kv-rulesgen -k v1.9 >"$TEST_TMP/built.yaml"
  assert_file_equals "$TEST_TMP/built.yaml" "$TEST_TMP/installed.yaml"
  run make -C "$KV_ROOT" BUILD="$KV_BUILD" uninstall DESTDIR="$TEST_TMP/root" PREFIX=/opt/kv
  assert_success
  [ ! -e "$TEST_TMP/root/opt/kv/share/kv-monitoring" ]
}
