#!/usr/bin/env bats
# kv-watch on the command line, without an API server: flags, usage errors,
# kubeconfig errors, servers that are not Kubernetes, and --replay.

setup() {
  load helpers/common
  common_setup
  unset KUBECONFIG KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT
  export HOME="$TEST_TMP/home"
}

teardown() {
  [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  common_teardown
}

vmi_event() {  # type namespace name resourceVersion
  printf '{"type":"%s","resource":"kubevirt.io/v1/virtualmachineinstances","object":{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachineInstance","metadata":{"name":"%s","namespace":"%s","resourceVersion":"%s"}}}\n' "$1" "$3" "$2" "$4"
}

@test "kv-watch: --help on stdout with status 0; --version names libcurl" {
  run kv-watch --help
  assert_success
  assert_output_contains "--field-selector SELECTOR"
  run kv-watch --version
  assert_success
  [[ "$output" =~ ^kv-watch\ .+\ \(libcurl\ [0-9]+\.[0-9]+\.[0-9]+ ]] || flunk "$output"
}

@test "kv-watch: usage errors exit 2 with the reason" {
  run --separate-stderr kv-watch
  assert_status 2
  [[ "$stderr" == *"name at least one resource to watch"* ]] || flunk "$stderr"
  run --separate-stderr kv-watch --interval soon vmis
  assert_status 2
  [[ "$stderr" == *'--interval: "soon" is not a positive duration'* ]] || flunk "$stderr"
  run --separate-stderr kv-watch --watch-timeout 10ms vmis
  assert_status 2
  run --separate-stderr kv-watch --page-size 0 vmis
  assert_status 2
  run --separate-stderr kv-watch --replay x.ndjson vmis
  assert_status 2
  [[ "$stderr" == *"--replay needs --events"* ]] || flunk "$stderr"
  run --separate-stderr kv-watch --events --replay /dev/null nonsense
  assert_status 2
  [[ "$stderr" == *'unknown resource "nonsense"'* ]] || flunk "$stderr"
}

@test "kv-watch: no API configured says what to pass" {
  run --separate-stderr kv-watch --once vmis
  assert_status 1
  [[ "$stderr" == *"no Kubernetes API configured: not in a cluster, no \$KUBECONFIG and no ~/.kube/config; pass --kubeconfig FILE or --server URL"* ]] || flunk "$stderr"
}

@test "kv-watch: a malformed kubeconfig is an error naming the file and line" {
  printf 'apiVersion: v1\nclusters:\n- name: a\n  cluster: {server: https://x\n' >"$TEST_TMP/config"
  run --separate-stderr kv-watch --kubeconfig "$TEST_TMP/config" --once vmis
  assert_status 1
  [[ "$stderr" == "kv-watch: error: $TEST_TMP/config:5: not a valid kubeconfig (YAML): "* ]] || flunk "$stderr"
  run --separate-stderr kv-watch --kubeconfig "$TEST_TMP/missing" --once vmis
  assert_status 1
  [[ "$stderr" == *"$TEST_TMP/missing: cannot read the kubeconfig"* ]] || flunk "$stderr"
}

@test "kv-watch: a server that is not a Kubernetes API is refused" {
  # kv-promfmt's HTTP endpoint: real HTTP, not Kubernetes.
  start_promfmt_server
  printf '{"name":"x","type":"gauge","value":1}\n{"end":"t"}\n' >&7
  run --separate-stderr kv-watch --server "http://127.0.0.1:$PROMFMT_PORT" --once vmis
  stop_promfmt_server
  assert_status 1
  [[ "$stderr" == *"GET /api answered HTTP 404"*"not a Kubernetes APIVersions document; is --server (or the kubeconfig's server) a Kubernetes API server?"* ]] || flunk "$stderr"
}

@test "kv-watch: an unreachable server fails --once and names the server" {
  port="$(free_port)"
  run --separate-stderr kv-watch --server "http://127.0.0.1:$port" --once vmis
  assert_status 1
  [[ "$stderr" == *"127.0.0.1:$port"* ]] || flunk "$stderr"
}

@test "kv-watch: --replay writes the named resources' events and reports bad lines" {
  {
    vmi_event ADDED ns1 a 10
    printf '{"type":"ADDED","resource":"v1/pods","object":{"metadata":{"name":"p","namespace":"ns1"}}}\n'
    printf 'not json\n'
    printf '{"type":"UPDATED","resource":"v1/pods","object":{"metadata":{"name":"p"}}}\n'
    printf '{"type":"ADDED","resource":"v1/pods","object":{"metadata":{}}}\n'
    vmi_event DELETED ns1 a 11
  } >"$TEST_TMP/rec.ndjson"
  run --separate-stderr kv-watch --events --replay "$TEST_TMP/rec.ndjson" vmi
  assert_status 3
  assert_output "$(vmi_event ADDED ns1 a 10; vmi_event DELETED ns1 a 11)"
  [[ "$stderr" == *"$TEST_TMP/rec.ndjson:3: not valid JSON; record skipped"* ]] || flunk "$stderr"
  [[ "$stderr" == *"$TEST_TMP/rec.ndjson:4: \"type\" must be ADDED, MODIFIED or DELETED, not \"UPDATED\"; record skipped"* ]] || flunk "$stderr"
  [[ "$stderr" == *"$TEST_TMP/rec.ndjson:5: no \"object\" with metadata.name; record skipped"* ]] || flunk "$stderr"
  # Without resource names every valid record comes back, from stdin too.
  run --separate-stderr kv-watch --events --replay - <"$TEST_TMP/rec.ndjson"
  assert_status 3
  [ "${#lines[@]}" -eq 3 ] || flunk "$output"
  run --separate-stderr kv-watch --events --replay "$TEST_TMP/none.ndjson"
  assert_status 1
  [[ "$stderr" == *"$TEST_TMP/none.ndjson: cannot open the recording"* ]] || flunk "$stderr"
}

@test "kv-watch: a closed stdout during --replay is a quiet exit" {
  for i in $(seq 1 20000); do vmi_event ADDED ns "vm$i" "$i"; done >"$TEST_TMP/big.ndjson"
  run --separate-stderr bash -c "kv-watch --events --replay '$TEST_TMP/big.ndjson' | head -n 1"
  assert_success
  [ -z "$stderr" ] || flunk "$stderr"
}

@test "kv-watch: the kubevirt config writes only KubeVirt's API metrics, with KubeVirt's types and labels" {
  ref="${KV_REFERENCE_DIR:-$KV_ROOT/../shared/reference}/kubevirt-metrics.tsv"
  [ -f "$ref" ] || flunk "cannot read $ref (set KV_REFERENCE_DIR)"
  # The fixtures, and updates through phases for the transition histograms.
  cases="$KV_ROOT/tests/cases/kv-watch"
  cat "$cases/kubevirt-fixtures/input.ndjson" "$cases/kubevirt-phase-transitions/input.ndjson" >"$TEST_TMP/input"
  run --separate-stderr kv-watch --config kubevirt --replay "$TEST_TMP/input"
  assert_success
  printf '%s\n' "$output" | jq -r 'select(.name and (.name | startswith("kv_") | not)) | "\(.name)\t\(.type)\t\(.labels // {} | keys | join(","))"' |
    sort -u >"$TEST_TMP/seen"
  [ "$(wc -l <"$TEST_TMP/seen")" -ge 19 ] || flunk "$(cat "$TEST_TMP/seen")"
  for family in kubevirt_vmi_phase_transition_time_seconds kubevirt_vmi_phase_transition_time_from_creation_seconds \
    kubevirt_vmi_phase_transition_time_from_deletion_seconds kubevirt_vmi_migration_phase_transition_time_from_creation_seconds; do
    grep -q "^$family	histogram	" "$TEST_TMP/seen" || flunk "no $family histogram: $(cat "$TEST_TMP/seen")"
  done
  while IFS=$'\t' read -r name type labels; do
    row="$(awk -F'\t' -v n="$name" '$1 == n' "$ref")"
    [ -n "$row" ] || flunk "$name is not in KubeVirt's catalog"
    [ "$(cut -f5 <<<"$row")" = k8s-api ] || flunk "$name is not an API-derived metric"
    [ "$(cut -f2 <<<"$row")" = "$type" ] || flunk "$name is a $type here, KubeVirt has a $(cut -f2 <<<"$row")"
    allowed=",$(cut -f3 <<<"$row"),"
    for l in ${labels//,/ }; do
      [[ "$allowed" == *",$l,"* ]] && continue
      # KubeVirt's label_* stands for every label_<key>.
      [[ "$l" == label_* && "$allowed" == *",label_*,"* ]] || flunk "$name: label $l is not one of KubeVirt's ($allowed)"
    done
  done <"$TEST_TMP/seen"
}

@test "kv-watch: the phase transition histograms are valid Prometheus text, with KubeVirt's buckets" {
  cases="$KV_ROOT/tests/cases/kv-watch"
  kv-watch --config kubevirt --replay "$cases/kubevirt-phase-transitions/input.ndjson" 2>/dev/null >"$TEST_TMP/samples"
  run --separate-stderr kv-promfmt --strict "$TEST_TMP/samples"
  assert_success
  printf '%s\n' "$output" >"$TEST_TMP/metrics.prom"
  run promtool check metrics <"$TEST_TMP/metrics.prom"
  assert_success
  grep -q '^# TYPE kubevirt_vmi_phase_transition_time_seconds histogram$' "$TEST_TMP/metrics.prom" || flunk "$(cat "$TEST_TMP/metrics.prom")"
  # virt-controller's buckets (PhaseTransitionTimeBuckets), for each family.
  want='0.5 1 2 5 10 20 30 40 50 60 90 120 180 300 600 1200 1800 3600 +Inf'
  for family in kubevirt_vmi_phase_transition_time_seconds kubevirt_vmi_phase_transition_time_from_creation_seconds \
    kubevirt_vmi_phase_transition_time_from_deletion_seconds kubevirt_vmi_migration_phase_transition_time_from_creation_seconds; do
    got="$(grep "^${family}_bucket{" "$TEST_TMP/metrics.prom" | head -n 19 | sed 's/.*le="\([^"]*\)".*/\1/' | tr '\n' ' ')"
    [ "$got" = "$want " ] || flunk "$family: buckets $got"
  done
  # VMI a went Pending -> Scheduling -> Scheduled -> Running -> Succeeded in 0, 3, 25 and 200 s.
  grep -qx 'kubevirt_vmi_phase_transition_time_seconds_bucket{last_phase="Scheduled",phase="Running",le="20"} 0' "$TEST_TMP/metrics.prom"
  grep -qx 'kubevirt_vmi_phase_transition_time_seconds_bucket{last_phase="Scheduled",phase="Running",le="30"} 1' "$TEST_TMP/metrics.prom"
  grep -qx 'kubevirt_vmi_phase_transition_time_seconds_count{last_phase="Running",phase="Succeeded"} 3' "$TEST_TMP/metrics.prom"
  grep -qx 'kubevirt_vmi_phase_transition_time_from_deletion_seconds_sum{phase="Failed"} 60' "$TEST_TMP/metrics.prom"
  grep -qx 'kv_watch_metric_errors_total{metric="kubevirt_vmi_phase_transition_time_seconds"} 2' "$TEST_TMP/metrics.prom"
}

@test "kv-watch: the Transition example of kv-watch-config(5) makes what the kubevirt config makes" {
  input="$KV_ROOT/tests/cases/kv-watch/kubevirt-phase-transitions/input.ndjson"
  {
    printf 'spec:\n  resources:\n  - groupVersionKind: {group: kubevirt.io, version: v1, kind: VirtualMachineInstance}\n'
    printf '    metricNamePrefix: ""\n    customResourceLabels: false\n    metrics:\n'
    sed -n '/^- name: kubevirt_vmi_phase_transition_time_seconds$/,/^\.Ed$/p' "$KV_ROOT/man/kv-watch-config.5" | sed '$d; s/^/    /'
  } >"$TEST_TMP/example.yaml"
  grep -q 'from_deletion' "$TEST_TMP/example.yaml" || flunk "no example in kv-watch-config(5)"
  histograms() { jq -c 'select(.type == "histogram") | [.name, .labels, .buckets, .sum, .value]'; }
  kv-watch --config "$TEST_TMP/example.yaml" --replay "$input" 2>/dev/null | histograms >"$TEST_TMP/example"
  kv-watch --config kubevirt --replay "$input" 2>/dev/null | histograms |
    grep -E '^\["kubevirt_vmi_phase_transition_time_(seconds|from_deletion_seconds)"' >"$TEST_TMP/builtin"
  [ -s "$TEST_TMP/example" ] || flunk "the example made no histogram"
  assert_file_equals "$TEST_TMP/builtin" "$TEST_TMP/example"
}

@test "kv-watch: the reduce example of kv-watch-config(5) makes what the kubevirt config makes" {
  input="$KV_ROOT/tests/cases/kv-watch/kubevirt-fixtures/input.ndjson"
  metric=kubevirt_vm_running_status_last_transition_timestamp_seconds
  {
    printf 'spec:\n  resources:\n  - groupVersionKind: {group: kubevirt.io, version: v1, kind: VirtualMachine}\n'
    printf '    metricNamePrefix: ""\n    customResourceLabels: false\n'
    printf '    labelsFromPath: {name: [metadata, name], namespace: [metadata, namespace]}\n    metrics:\n'
    sed -n "/^- name: $metric\$/,/^\\.Ed\$/p" "$KV_ROOT/man/kv-watch-config.5" | sed '$d; s/^/    /'
  } >"$TEST_TMP/example.yaml"
  grep -q 'reduce:' "$TEST_TMP/example.yaml" || flunk "no reduce example in kv-watch-config(5)"
  series() { jq -c --arg m "$metric" 'select(.name == $m) | [.type, .labels, .value]'; }
  kv-watch --config "$TEST_TMP/example.yaml" --replay "$input" 2>/dev/null | series >"$TEST_TMP/example"
  kv-watch --config kubevirt --replay "$input" 2>/dev/null | series >"$TEST_TMP/builtin"
  [ "$(wc -l <"$TEST_TMP/example")" -ge 10 ] || flunk "$(cat "$TEST_TMP/example")"
  assert_file_equals "$TEST_TMP/builtin" "$TEST_TMP/example"
}

@test "kv-watch: a Transition config error names the file, the line, the entry and the problem" {
  cat >"$TEST_TMP/config.yaml" <<'YAML'
spec:
  resources:
  - groupVersionKind: {group: kubevirt.io, version: v1, kind: VirtualMachineInstance}
    metrics:
    - name: phase_seconds
      each:
        type: Transition
        transition:
          path: [status, phase]
          timestamps: {path: [status, phaseTransitionTimestamps], key: [phase]}
          from: previous
          labelName: phase
          buckets: [1, 2]
YAML
  run --separate-stderr kv-watch --config "$TEST_TMP/config.yaml" --replay /dev/null
  assert_status 1
  [ "$stderr" = "kv-watch: error: $TEST_TMP/config.yaml:10: resource 1 (VirtualMachineInstance) metric \"phase_seconds\" each.transition.timestamps: time is missing (when the value was entered, from the element)" ] ||
    flunk "$stderr"
}

@test "kv-watch: the kube-state config makes every kube_* series the rules read, or says why not" {
  cases="$KV_ROOT/tests/cases/kv-watch"
  config="$KV_ROOT/tools/kv-watch/configs/kube-state.yaml"
  cat "$cases/kube-state-fixtures/input.ndjson" "$cases/kube-state-edge-cases/input.ndjson" >"$TEST_TMP/objects"
  run --separate-stderr kv-watch --config kube-state --replay "$TEST_TMP/objects"
  assert_success
  printf '%s\n' "$output" >"$TEST_TMP/samples"
  jq -r 'select(.name) | .name' "$TEST_TMP/samples" | sort -u >"$TEST_TMP/made"
  # "# not derived: NAME: REASON" lines of the config.
  sed -n 's/^# not derived: \([^:]*\): \(..*\)$/\1/p' "$config" | sort -u >"$TEST_TMP/not-made"
  grep -oE '\bkube_[a-z0-9_]+' "$KV_ROOT/rules/external-metrics.yaml" | sort -u >"$TEST_TMP/wanted"
  [ "$(wc -l <"$TEST_TMP/wanted")" -ge 15 ] || flunk "$(cat "$TEST_TMP/wanted")"
  while read -r name; do
    if grep -qx "$name" "$TEST_TMP/made"; then
      ! grep -qx "$name" "$TEST_TMP/not-made" || flunk "$name is made, yet listed as not derived in $config"
    else
      grep -qx "$name" "$TEST_TMP/not-made" ||
        flunk "$name: rules/external-metrics.yaml lists it, the kube-state config neither makes it nor says why (# not derived: $name: REASON)"
    fi
  done <"$TEST_TMP/wanted"
  # The labels only an allowlist gives kube-state-metrics' *_labels families.
  jq -e -s 'map(select(.name == "kube_node_labels" and .labels.label_kubevirt_io_schedulable == "true")) | length >= 1' \
    "$TEST_TMP/samples" >/dev/null || flunk "no kube_node_labels{label_kubevirt_io_schedulable=\"true\"}"
  jq -e -s 'map(select(.name == "kube_persistentvolumeclaim_labels" and .labels.label_restore_kubevirt_io_source_vm_name
    and .labels.label_restore_kubevirt_io_source_vm_namespace)) | length >= 1' "$TEST_TMP/samples" >/dev/null ||
    flunk "no kube_persistentvolumeclaim_labels with label_restore_kubevirt_io_source_vm_name/_namespace"
}

@test "kv-watch: on the fixtures' cluster, KubeVirt's rules see schedulable nodes (promtool)" {
  input="$KV_ROOT/tests/cases/kv-watch/kube-state-fixtures/input.ndjson"
  kv-rulesgen -k v1.6 -f rulefile >"$TEST_TMP/rules.yaml"
  { kv-watch --config kube-state --replay "$input" && kv-watch --config kubevirt --replay "$input"; } >"$TEST_TMP/samples"
  # Every series, constant for 15 minutes, as promtool's input.
  {
    printf 'rule_files: [rules.yaml]\nevaluation_interval: 1m\ntests:\n- interval: 1m\n  input_series:\n'
    jq -r 'select(.name) | "\(.name){\(.labels // {} | to_entries | map(select(.value != "") | "\(.key)=\(.value | tojson)") | join(","))}\t\(.value)"' \
      "$TEST_TMP/samples" | sort -u -t$'\t' -k1,1 |
      while IFS=$'\t' read -r series value; do
        printf '  - series: %s\n    values: "%sx15"\n' "$(jq -Rn --arg s "$series" '$s')" "$value"
      done
    printf '  alert_rule_test:\n  - {eval_time: 10m, alertname: KubeVirtNoAvailableNodesToRunVMs, exp_alerts: []}\n'
    printf '  promql_expr_test:\n  - expr: count(kube_node_labels{label_kubevirt_io_schedulable="true"} * on (node) group_left () (1 - kube_node_spec_unschedulable) == 1)\n'
    printf '    eval_time: 10m\n    exp_samples: [{labels: "{}", value: 2}]\n'
  } >"$TEST_TMP/test.yaml"
  run promtool test rules "$TEST_TMP/test.yaml"
  assert_success
}

@test "kv-watch: --print-resources lists what a config reads, without a server" {
  run kv-watch --print-resources --config kube-state
  assert_success
  [ "$output" = "$(printf 'apps/v1/daemonsets\napps/v1/deployments\nv1/nodes\nv1/persistentvolumeclaims\nv1/pods')" ] || flunk "$output"
  run kv-watch --print-resources --config kubevirt
  assert_success
  assert_output_contains "snapshot.kubevirt.io/v1beta1/virtualmachinesnapshots"
  assert_output_contains "v1/configmaps"
  run kv-watch --print-resources vmis vmi pods
  assert_success
  [ "$output" = "$(printf 'kubevirt.io/v1/virtualmachineinstances\nv1/pods')" ] || flunk "$output"
  # A kind only discovery could name is an error, not a guess.
  cat > "$TEST_TMP/crd.yaml" <<'YAML'
kind: CustomResourceStateMetrics
spec:
  resources:
    - groupVersionKind: {group: example.com, version: v1, kind: Widget}
      metrics:
        - name: up
          each: {type: Gauge, gauge: {path: [status, up]}}
YAML
  run kv-watch --print-resources --config "$TEST_TMP/crd.yaml"
  assert_status 1
  assert_output_contains "Widget"
  run kv-watch --print-resources --events vmis
  assert_status 2
}

@test "kv-watch: --namespaces, -n and --exclude-namespaces usage errors name the culprit" {
  run --separate-stderr kv-watch --namespaces ok,Not_A_Namespace vmis
  assert_status 2
  [[ "$stderr" == *'--namespaces: "Not_A_Namespace": a namespace is 1 to 63 lower-case letters'* ]] || flunk "$stderr"
  run --separate-stderr kv-watch -n ../x vmis
  assert_status 2
  [[ "$stderr" == *'--namespace: "../x": a namespace is'* ]] || flunk "$stderr"
  run --separate-stderr kv-watch --exclude-namespaces 'a b' vmis
  assert_status 2
  [[ "$stderr" == *'--exclude-namespaces: "a b": a namespace is'* ]] || flunk "$stderr"
  # Both lists together, as kube-state-metrics: the listed namespaces that
  # are not excluded; none left is a mistake.
  run --separate-stderr kv-watch -n a --namespaces b --exclude-namespaces b,a vmis
  assert_status 2
  [[ "$stderr" == *"--exclude-namespaces leaves out every namespace that --namespaces (or -n) names"* ]] || flunk "$stderr"
}

@test "kv-watch: --resources usage errors name the resource and what the config has" {
  run --separate-stderr kv-watch --print-resources --config kube-state --resources pods,vmis
  assert_status 2
  [[ "$stderr" == *'--resources: "vmis" (kubevirt.io/v1/virtualmachineinstances) is not one of the config'"'"'s resources (v1/pods, apps/v1/deployments, apps/v1/daemonsets, v1/nodes, v1/persistentvolumeclaims)'* ]] || flunk "$stderr"
  run --separate-stderr kv-watch --config kube-state --resources frobnicators --replay /dev/null
  assert_status 2
  [[ "$stderr" == *'--resources: "frobnicators" is not one of the config'"'"'s resources'* ]] || flunk "$stderr"
  run --separate-stderr kv-watch --config kube-state pods
  assert_status 2
  [[ "$stderr" == *"drop the resource arguments (--resources picks some of the config's)"* ]] || flunk "$stderr"
}

@test "kv-watch: --print-resources honours --resources" {
  run --separate-stderr kv-watch --print-resources --config kube-state --resources no,pods
  assert_success
  [ "$output" = "$(printf 'v1/nodes\nv1/pods')" ] || flunk "$output"
  run --separate-stderr kv-watch --print-resources --config kube-state --resources deploy --resources apps/v1/daemonsets
  assert_success
  [ "$output" = "$(printf 'apps/v1/daemonsets\napps/v1/deployments')" ] || flunk "$output"
  # What the picked resources' metrics look up comes with them: the VMIs'
  # the KubeVirt CR, the VMs' their disks' claims, the ConfigMap of
  # kubevirt_vm_labels and their instancetypes and preferences (revisions
  # and live objects).
  run --separate-stderr kv-watch --print-resources --config kubevirt --resources vmis,vmsnapshot
  assert_success
  [ "$output" = "$(printf 'kubevirt.io/v1/kubevirts\nkubevirt.io/v1/virtualmachineinstances\nsnapshot.kubevirt.io/v1beta1/virtualmachinesnapshots')" ] || flunk "$output"
  run --separate-stderr kv-watch --print-resources --config kubevirt --resources vms
  assert_success
  [ "$output" = "$(printf '%s\n' apps/v1/controllerrevisions \
    instancetype.kubevirt.io/v1beta1/virtualmachineclusterinstancetypes \
    instancetype.kubevirt.io/v1beta1/virtualmachineclusterpreferences \
    instancetype.kubevirt.io/v1beta1/virtualmachineinstancetypes \
    instancetype.kubevirt.io/v1beta1/virtualmachinepreferences \
    kubevirt.io/v1/virtualmachines v1/configmaps v1/persistentvolumeclaims)" ] || flunk "$output"
  # Without --config they are resource arguments.
  run --separate-stderr kv-watch --print-resources --resources vmis,pods vm
  assert_success
  [ "$output" = "$(printf 'kubevirt.io/v1/virtualmachineinstances\nkubevirt.io/v1/virtualmachines\nv1/pods')" ] || flunk "$output"
  # A kind only a server could name: an error, unless --resources leaves it
  # out; with resourcePlural it is named by its plural.
  cat > "$TEST_TMP/crd.yaml" <<'YAML'
kind: CustomResourceStateMetrics
spec:
  resources:
    - groupVersionKind: {group: example.com, version: v1, kind: Widget}
      metrics:
        - name: up
          each: {type: Gauge, gauge: {path: [status, up]}}
    - groupVersionKind: {group: example.com, version: v1, kind: Gadget}
      resourcePlural: gadgetry
      metrics:
        - name: up
          each: {type: Gauge, gauge: {path: [status, up]}}
    - groupVersionKind: {group: "", version: v1, kind: Pod}
      metrics:
        - name: up
          each: {type: Gauge, gauge: {path: [status, up]}}
YAML
  run --separate-stderr kv-watch --print-resources --config "$TEST_TMP/crd.yaml"
  assert_status 1
  [[ "$stderr" == *"crd.yaml:4: resource 1 (Widget): kind Widget is not built in; add resourcePlural"* ]] || flunk "$stderr"
  run --separate-stderr kv-watch --print-resources --config "$TEST_TMP/crd.yaml" --resources gadgetry,pod
  assert_success
  [ "$output" = "$(printf 'example.com/v1/gadgetry\nv1/pods')" ] || flunk "$output"
  run --separate-stderr kv-watch --print-resources --config "$TEST_TMP/crd.yaml" --resources widgets
  assert_status 2
  [[ "$stderr" == *'--resources: "widgets" is not one of the config'"'"'s resources (example.com/v1/gadgetry, v1/pods); '*'kind Widget is not built in'* ]] || flunk "$stderr"
}

@test "kv-watch: --config --replay --resources gives the config's families of those resources, as without it" {
  input="$KV_ROOT/tests/cases/kv-watch/kubevirt-fixtures/input.ndjson"
  samples() { jq -c 'select(.name) | {name, type, labels, value}'; }
  run --separate-stderr kv-watch --config kube-state --replay "$input"
  assert_success
  whole="$(printf '%s\n' "$output" | samples)"
  run --separate-stderr kv-watch --config kube-state --replay "$input" --resources pods,no
  assert_success
  picked="$(printf '%s\n' "$output" | samples)"
  # The fixture has pods, nodes, deployments and daemon sets.
  for family in kube_pod_status_phase kube_node_status_condition kube_deployment_spec_replicas kube_daemonset_status_number_ready; do
    grep -q "\"name\":\"$family\"" <<<"$whole" || flunk "the fixture makes no $family"
  done
  [ "$picked" = "$(grep -E '"name":"kube_(pod|node)_' <<<"$whole")" ] || flunk "$picked"
}

@test "kv-watch: a directory given as --config or --replay, and a negative --shard, are errors that say so" {
  run --separate-stderr kv-watch --config "$TEST_TMP"
  assert_status 1
  [[ "$stderr" == *"$TEST_TMP: is a directory; --config takes a file or a built-in config's name"* ]] || flunk "$stderr"
  run --separate-stderr kv-watch --events --replay "$TEST_TMP"
  assert_status 1
  [[ "$stderr" == *"$TEST_TMP: is a directory, not a recording"* ]] || flunk "$stderr"
  run --separate-stderr kv-watch --events --replay "$TEST_TMP/none.ndjson"
  assert_status 1
  [[ "$stderr" == *"$TEST_TMP/none.ndjson: cannot open the recording: No such file or directory"* ]] || flunk "$stderr"
  run --separate-stderr kv-watch --shard -1 vmis
  assert_status 2
  [[ "$stderr" == *"--shard -1 is negative"* ]] || flunk "$stderr"
}

@test "kv-watch: --interval with --events or --once is a usage error" {
  run --separate-stderr kv-watch --events --interval 5s vmis
  assert_status 2
  [[ "$stderr" == *"--events writes events, not snapshots"* ]] || flunk "$stderr"
  run --separate-stderr kv-watch --once --interval 5s vmis
  assert_status 2
  [[ "$stderr" == *"--once writes one snapshot"* ]] || flunk "$stderr"
}
