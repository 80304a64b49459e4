#!/usr/bin/env bats
# deploy/manifests: every kustomize base, overlay and component builds into
# complete objects; the toolkit's containers are hardened, within budget and
# probed; RBAC is read-only and exactly what kv-watch's configs read; the two
# forms of the virt-handler sidecar are one container; the generated files
# are current; the host mode's systemd units are valid. Offline: kubectl
# kustomize, python3-yaml (tests/helpers/check-manifests), systemd-analyze.

setup() {
  load helpers/common
  common_setup
  MANIFESTS="$KV_ROOT/deploy/manifests"
  CHECK="$KV_ROOT/tests/helpers/check-manifests"
}

teardown() {
  common_teardown
}

# A stand-in for the virt-handler DaemonSet that virt-operator renders: its
# name, labels, and the kubelet-pods volume the sidecar mounts.
write_virt_handler() {
  cat >"$1" <<'YAML'
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: virt-handler
  namespace: kubevirt
  labels:
    kubevirt.io: virt-handler
spec:
  selector:
    matchLabels:
      kubevirt.io: virt-handler
  template:
    metadata:
      labels:
        kubevirt.io: virt-handler
        prometheus.kubevirt.io: "true"
    spec:
      containers:
        - name: virt-handler
          image: quay.io/kubevirt/virt-handler:v1.6.0
          volumeMounts:
            - name: kubelet-pods
              mountPath: /pods
      volumes:
        - name: kubelet-pods
          hostPath:
            path: /var/lib/kubelet/pods
YAML
}

# Builds every kustomization.yaml under deploy/manifests into
# $TEST_TMP/builds/NAME.yaml, NAME its directory with / as _ (so a new one
# cannot escape the checks). A Component cannot be built alone: it is built
# onto the central base and a virt-handler stand-in, which is what the
# components here patch. Prints each one that does not build, and fails then.
build_all() {
  local k dir name wrap failed=0
  mkdir -p "$TEST_TMP/builds"
  write_virt_handler "$TEST_TMP/virt-handler.yaml"
  while IFS= read -r k; do
    dir="$(dirname "$k")"
    name="${dir#"$MANIFESTS"/}"
    name="${name//\//_}"
    if grep -q '^kind: Component' "$k"; then
      wrap="$TEST_TMP/components/$name"
      mkdir -p "$wrap"
      cp "$TEST_TMP/virt-handler.yaml" "$wrap/"
      cat >"$wrap/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $(realpath --relative-to="$wrap" "$MANIFESTS/central")
  - virt-handler.yaml
components:
  - $(realpath --relative-to="$wrap" "$dir")
YAML
      dir="$wrap"
      name="component_$name"
    fi
    if ! kubectl kustomize "$dir" >"$TEST_TMP/builds/$name.yaml" 2>"$TEST_TMP/builds/$name.err"; then
      echo "${k#"$KV_ROOT"/}: $(cat "$TEST_TMP/builds/$name.err")"
      failed=1
    fi
  done < <(find "$MANIFESTS" -name kustomization.yaml | sort)
  return "$failed"
}

# The kinds of a build's objects, sorted, on one line.
kinds_of() {
  "$PYTHON3" -c 'import sys, yaml; print(" ".join(sorted(d["kind"] for d in yaml.safe_load_all(open(sys.argv[1])) if d)))' "$1"
}

@test "deploy-manifests: kubectl kustomize builds every base, overlay and component into complete objects" {
  run build_all
  assert_success
  # Everything the tree promises is there (a lost directory is no pass).
  local b
  for b in central central_kube-state node-sidecar node-sidecar_virt-handler rules namespace \
           host_cronjob overlays_central overlays_node-sidecar overlays_rules overlays_all \
           overlays_all-with-kube-state; do
    [ -s "$TEST_TMP/builds/$b.yaml" ] || [ -s "$TEST_TMP/builds/component_$b.yaml" ] ||
      flunk "no build of $b"
  done
  run "$CHECK" objects "$TEST_TMP"/builds/*.yaml
  assert_success
  run "$CHECK" objects --overlay "$TEST_TMP"/builds/overlays_*.yaml
  assert_success
  # Each overlay is what its name says.
  [ "$(kinds_of "$TEST_TMP/builds/overlays_central.yaml")" = \
    "ClusterRole ClusterRoleBinding Deployment Namespace Service ServiceAccount ServiceMonitor" ] ||
    flunk "overlays/central: $(kinds_of "$TEST_TMP/builds/overlays_central.yaml")"
  [ "$(kinds_of "$TEST_TMP/builds/overlays_node-sidecar.yaml")" = "Namespace PodMonitor" ] ||
    flunk "overlays/node-sidecar: $(kinds_of "$TEST_TMP/builds/overlays_node-sidecar.yaml")"
  [ "$(kinds_of "$TEST_TMP/builds/overlays_rules.yaml")" = "Namespace PrometheusRule" ] ||
    flunk "overlays/rules: $(kinds_of "$TEST_TMP/builds/overlays_rules.yaml")"
  [ "$(kinds_of "$TEST_TMP/builds/overlays_all.yaml")" = \
    "ClusterRole ClusterRoleBinding Deployment Namespace PodMonitor PrometheusRule Service ServiceAccount ServiceMonitor" ] ||
    flunk "overlays/all: $(kinds_of "$TEST_TMP/builds/overlays_all.yaml")"
}

@test "deploy-manifests: every container of the toolkit is hardened, within its budget, and probed" {
  build_all >&2
  # The virt-handler stand-in's own container is KubeVirt's, not ours.
  run "$CHECK" workloads --foreign virt-handler "$TEST_TMP"/builds/*.yaml
  assert_success
  # The central collector, the sidecar (in its component) and the CronJob.
  assert_output_contains "central.yaml: 1 containers of the toolkit"
  assert_output_contains "component_node-sidecar_virt-handler.yaml: 2 containers of the toolkit"
  assert_output_contains "host_cronjob.yaml: 1 containers of the toolkit"
}

@test "deploy-manifests: RBAC is read-only and grants exactly what kv-watch --print-resources names" {
  build_all >&2
  run "$CHECK" rbac "$TEST_TMP"/builds/*.yaml
  assert_success
  # The kube-state config is off by default and on where its component is.
  assert_output_contains "overlays_all.yaml: Deployment/kubevirt-monitoring/kv-central-collector container central-collector: configs kubevirt: 12 resources"
  assert_output_contains "overlays_all-with-kube-state.yaml: Deployment/kubevirt-monitoring/kv-central-collector container central-collector: configs kubevirt kube-state: 16 resources"
  assert_output_contains "component_central_kube-state.yaml: Deployment/kubevirt-monitoring/kv-central-collector container central-collector: configs kubevirt kube-state"
}

@test "deploy-manifests: the KubeVirt CR patch and the virt-handler DaemonSet patch add the same container" {
  build_all >&2
  run "$CHECK" kubevirt-cr-patch "$MANIFESTS/node-sidecar/kubevirt-cr-patch.yaml" \
    "$MANIFESTS/node-sidecar/virt-handler/virt-handler-patch.yaml" \
    "$TEST_TMP/builds/component_node-sidecar_virt-handler.yaml"
  assert_success
  assert_output_contains "1 containers, the same in both forms"
  # The PodMonitor scrapes that container's port on virt-handler's pods.
  run "$PYTHON3" - "$TEST_TMP/builds/overlays_node-sidecar.yaml" "$MANIFESTS/node-sidecar/virt-handler/virt-handler-patch.yaml" <<'PY'
import sys, yaml
pm = next(d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "PodMonitor")
ds = yaml.safe_load(open(sys.argv[2]))
ports = {p["name"] for c in ds["spec"]["template"]["spec"]["containers"] for p in c["ports"]}
assert pm["spec"]["namespaceSelector"] == {"matchNames": ["kubevirt"]}, pm["spec"]
assert pm["spec"]["selector"] == {"matchLabels": {"kubevirt.io": "virt-handler"}}, pm["spec"]
assert [e["port"] for e in pm["spec"]["podMetricsEndpoints"]] == sorted(ports), ports
PY
  assert_success
}

@test "deploy-manifests: the checked-in generated files are what make manifests writes now" {
  cp -r "$MANIFESTS" "$TEST_TMP/manifests"
  run "$KV_ROOT/tests/helpers/gen-deploy-manifests" "$TEST_TMP/manifests"
  assert_success
  run diff -ru "$MANIFESTS" "$TEST_TMP/manifests"
  [ "$status" -eq 0 ] || flunk "stale: run make manifests"$'\n'"$output"
  # The PrometheusRule is the newest release's, for KubeVirt in kubevirt.
  local newest
  newest="$(kv-rulesgen --list-releases | tail -n 1)"
  [ "$(head -n 1 "$MANIFESTS/rules/prometheusrule.yaml")" = \
    "# KubeVirt $newest rules for namespace kubevirt, generated by kv-rulesgen: generate again, do not edit." ] ||
    flunk "$(head -n 1 "$MANIFESTS/rules/prometheusrule.yaml")"
}

@test "deploy-manifests: the host mode's systemd service and timer pass systemd-analyze verify" {
  # The service runs the installed entrypoint: here, the source tree's.
  local units="$TEST_TMP/units"
  mkdir "$units"
  sed "s|/usr/local/bin/|$KV_ROOT/deploy/entrypoints/bin/|" "$MANIFESTS/host/systemd/kv-textfile-collector.service" \
    >"$units/kv-textfile-collector.service"
  cp "$MANIFESTS/host/systemd/kv-textfile-collector.timer" "$units/"
  grep -q "^ExecStart=$KV_ROOT/deploy/entrypoints/bin/kv-textfile-collector$" "$units/kv-textfile-collector.service"
  run systemd-analyze verify --man=no "$units/kv-textfile-collector.service" "$units/kv-textfile-collector.timer"
  assert_success
  # It warns about unknown keys and still exits 0: a clean run says nothing.
  [ -z "$output" ] || flunk "$output"
}

@test "deploy-manifests: the switch-over ServiceMonitor drops only families the tools are seen to make" {
  local regex made
  regex="$(python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["spec"]["endpoints"][0]["metricRelabelings"][0]["regex"])' \
    "$MANIFESTS/migration/kubevirt-components-servicemonitor.yaml")"
  [ -n "$regex" ]
  # The series names the golden cases show kv-watch's kubevirt config and
  # kv-domstats writing (a histogram as its _bucket, _sum and _count).
  made="$(cat "$KV_ROOT"/tests/cases/kv-watch/kubevirt-*/expected.out "$KV_ROOT"/tests/cases/kv-domstats/*/expected.out |
    jq -r 'select(.name) | if .type == "histogram" then .name + ("_bucket", "_sum", "_count") else .name end' | sort -u)"
  local name missing=()
  for name in ${regex//|/ }; do
    grep -qx "$name" <<<"$made" || missing+=("$name")
  done
  [ ${#missing[@]} -eq 0 ] || flunk "dropped from KubeVirt's scrape, but no golden case shows the toolkit making: ${missing[*]}"
  # KubeVirt's own component metrics, which the rules read, stay.
  for name in kubevirt_virt_controller_ready_status kubevirt_virt_handler_up kubevirt_workqueue_depth; do
    [[ "|$regex|" != *"|$name|"* ]] || flunk "drops $name"
  done
}
