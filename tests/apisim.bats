#!/usr/bin/env bats
# kube-apisim, the Kubernetes API simulator: kubectl and curl prove it speaks
# the real protocol (discovery, LIST with pagination, WATCH, TLS, tokens,
# selectors, Status errors), and the control API's faults are observable.

setup_file() {
  load helpers/common
  load helpers/apisim
  start_apisim --fixtures "$APISIM_FIXTURES" --bookmark-interval 1s
}

teardown_file() {
  load helpers/common
  load helpers/apisim
  stop_apisim
}

setup() {
  load helpers/common
  load helpers/apisim
  common_setup
  BG_PIDS=()
  # Each test starts from the fixtures, without faults, with an empty log.
  apisim_reset
  apisim_ctl DELETE /faults >/dev/null
  apisim_ctl PUT /config '{"bookmarkInterval":"1s","tooOld":"event","history":10000,"aggregatedDiscovery":true}' >/dev/null
  apisim_ctl DELETE /requests >/dev/null
}

teardown() {
  local pid
  for pid in "${BG_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  common_teardown
}

# Starts a command in the background, killed in teardown.
background() {
  "$@" &
  BG_PIDS+=($!)
}

# A watch with curl (HTTP/1.1, unbuffered) writing its events to FILE.
watch_to() {  # FILE PATH
  background curl -sS -N --http1.1 --cacert "$APISIM_STATE/ca.crt" -H "Authorization: Bearer $(apisim_token)" \
    -o "$1" "$APISIM_URL$2"
}

vmi() {  # NAMESPACE NAME [LABELS-JSON] [PHASE]
  printf '{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachineInstance","metadata":{"name":"%s","namespace":"%s","labels":%s},"spec":{"domain":{"devices":{}}},"status":{"phase":"%s"}}' \
    "$2" "$1" "${3:-{\}}" "${4:-Pending}"
}

current_rv() { apisim_ctl GET /info | jq -r .resourceVersion; }

VMIS=/apis/kubevirt.io/v1/virtualmachineinstances

@test "the simulator's Go unit tests pass (selectors, history, snapshots, splicing)" {
  cd "$KV_ROOT/tests/apisim"
  run env GOCACHE="$KV_BUILD/go/cache" GOPATH="$KV_BUILD/go/path" GOENV=off GOFLAGS=-mod=mod GOPROXY=off \
    GOTOOLCHAIN=local GO111MODULE=on CGO_ENABLED=0 go test -count=1 .
  assert_success
}

@test "--help goes to stdout with status 0; usage errors and non-loopback addresses are status 2" {
  run --separate-stderr kube-apisim --help
  assert_success
  [[ "$output" == *"--state-dir"* ]] || flunk "$output"
  [ -z "$stderr" ]
  run --separate-stderr kube-apisim
  assert_status 2
  [[ "$stderr" == *"--state-dir is required"* ]] || flunk "$stderr"
  run --separate-stderr kube-apisim --state-dir "$TEST_TMP/s" --listen 0.0.0.0:0
  assert_status 2
  [[ "$stderr" == *"not on loopback"* ]] || flunk "$stderr"
  run --separate-stderr kube-apisim --state-dir "$TEST_TMP/s" --bogus
  assert_status 2
  [ ! -e "$TEST_TMP/s/ready" ]
}

@test "the state dir holds the URLs, a CA, a client certificate it signed, the token and a kubeconfig" {
  local f
  for f in api-url control-url ca.crt client.crt client.key token kubeconfig kubeconfig-clientcert pid ready; do
    [ -s "$APISIM_STATE/$f" ] || flunk "missing $f"
  done
  [[ "$APISIM_URL" == https://127.0.0.1:* ]] || flunk "$APISIM_URL"
  [[ "$APISIM_CONTROL" == http://127.0.0.1:* ]] || flunk "$APISIM_CONTROL"
  [ "$(cat "$APISIM_STATE/pid")" = "$APISIM_PID" ]
  run openssl verify -CAfile "$APISIM_STATE/ca.crt" "$APISIM_STATE/client.crt"
  assert_output "$APISIM_STATE/client.crt: OK"
  # The server certificate names 127.0.0.1 and localhost.
  run bash -c "openssl s_client -connect '${APISIM_URL#https://}' -CAfile '$APISIM_STATE/ca.crt' -verify_return_error </dev/null 2>/dev/null | openssl x509 -noout -ext subjectAltName"
  assert_output_contains "DNS:localhost"
  assert_output_contains "IP Address:127.0.0.1"
  run kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}'
  assert_output "$APISIM_URL"
}

@test "/version and /healthz are public; everything else needs a token or a client certificate (401 Status)" {
  run curl -sS --cacert "$APISIM_STATE/ca.crt" "$APISIM_URL/version"
  [ "$(jq -r .gitVersion <<<"$output")" = v1.32.4 ] || flunk "$output"
  [ "$(jq -r .minor <<<"$output")" = 32 ]
  run curl -sS --cacert "$APISIM_STATE/ca.crt" "$APISIM_URL/healthz"
  assert_output ok
  local path
  for path in /api /apis /api/v1/pods "$VMIS"; do
    run curl -sS --cacert "$APISIM_STATE/ca.crt" -w '\n%{http_code}' "$APISIM_URL$path"
    [ "${lines[1]}" = 401 ] || flunk "$path: $output"
    [ "$(jq -c '[.kind,.apiVersion,.status,.reason,.code,.message]' <<<"${lines[0]}")" = '["Status","v1","Failure","Unauthorized",401,"Unauthorized"]' ] || flunk "$output"
  done
  run curl -sS --cacert "$APISIM_STATE/ca.crt" -H 'Authorization: Bearer not-a-token' -o /dev/null -w '%{http_code}' "$APISIM_URL$VMIS"
  assert_output 401
}

@test "legacy discovery: groups, versions and resources with kind, scope, verbs, short and singular names" {
  run apisim_curl /api
  [ "$(jq -c '[.kind,.versions]' <<<"$output")" = '["APIVersions",["v1"]]' ] || flunk "$output"
  run apisim_curl /apis
  [ "$(jq -r .kind <<<"$output")" = APIGroupList ]
  [ "$(jq -r '[.groups[].name] | sort | join(" ")' <<<"$output")" = "apps instancetype.kubevirt.io kubevirt.io snapshot.kubevirt.io" ] || flunk "$output"
  run apisim_curl /apis/kubevirt.io
  [ "$(jq -c '[.kind,.preferredVersion.groupVersion]' <<<"$output")" = '["APIGroup","kubevirt.io/v1"]' ] || flunk "$output"
  run apisim_curl /apis/kubevirt.io/v1
  [ "$(jq -c '.resources[] | select(.name=="virtualmachineinstances") | [.kind,.namespaced,.singularName,.shortNames,(.verbs|index("watch")!=null)]' <<<"$output")" = \
    '["VirtualMachineInstance",true,"virtualmachineinstance",["vmi","vmis"],true]' ] || flunk "$output"
  [ "$(jq -r '[.resources[].name] | join(" ")' <<<"$output")" = "kubevirts virtualmachineinstancemigrations virtualmachineinstances virtualmachines" ] || flunk "$output"
  run apisim_curl /api/v1
  [ "$(jq -c '.resources[] | select(.name=="nodes") | [.kind,.namespaced,.shortNames]' <<<"$output")" = '["Node",false,["no"]]' ] || flunk "$output"
  [ "$(jq -c '.resources[] | select(.name=="pods") | [.kind,.namespaced,.shortNames]' <<<"$output")" = '["Pod",true,["po"]]' ] || flunk "$output"
  run apisim_curl /apis/snapshot.kubevirt.io/v1beta1
  [ "$(jq -c '.resources[0] | [.name,.shortNames]' <<<"$output")" = '["virtualmachinesnapshots",["vmsnapshot","vmsnapshots"]]' ] || flunk "$output"
  run apisim_curl /apis/nope.io/v1 -o /dev/null -w '%{http_code}'
  assert_output 404
}

@test "kubectl resolves kinds, plurals and short names, with aggregated and with legacy discovery" {
  local mode
  for mode in true false; do
    apisim_ctl PUT /config "{\"aggregatedDiscovery\":$mode}" >/dev/null
    rm -rf "$KUBECACHEDIR"
    apisim_ctl DELETE /requests >/dev/null
    run kubectl get vmis -A -o name
    assert_success
    assert_output_contains "virtualmachineinstance.kubevirt.io/rhel9-db"
    local t
    for t in vmi vm vmim kv nodes node no virtualmachineinstance vmsnapshot vmcf; do
      run kubectl get "$t" -A -o name
      assert_success
      [ -n "$output" ] || flunk "kubectl get $t listed nothing"
    done
    run kubectl get pods -n kubevirt -o name
    assert_output_contains "pod/virt-handler-4hq8n"
    # Legacy discovery fetches each group version's resource list.
    if [ "$mode" = false ]; then
      apisim_requests get | grep -q '"path":"/apis/kubevirt.io/v1"' || flunk "no legacy discovery request"
    else
      ! apisim_requests get | grep -q '"path":"/apis/kubevirt.io/v1"' || flunk "aggregated discovery was not used"
    fi
  done
  apisim_ctl PUT /config '{"aggregatedDiscovery":true}' >/dev/null
}

@test "kubectl get vmis -A -o json lists exactly the objects the control API holds" {
  kubectl get vmis -A -o json >"$TEST_TMP/kubectl.json"
  apisim_ctl GET /objects/vmis >"$TEST_TMP/control.json"
  [ "$(jq '.items | length' "$TEST_TMP/control.json")" -eq 11 ]
  diff -u <(jq -S .items "$TEST_TMP/control.json") <(jq -S .items "$TEST_TMP/kubectl.json")
  # The list and its items carry the metadata a real server sets.
  run apisim_curl "$VMIS"
  [ "$(jq -r .kind <<<"$output")" = VirtualMachineInstanceList ]
  [ "$(jq -r .metadata.resourceVersion <<<"$output")" = "$(current_rv)" ]
  [ "$(jq '[.items[] | select(.metadata.uid and .metadata.resourceVersion and .metadata.creationTimestamp and .metadata.generation and .kind and .apiVersion)] | length' <<<"$output")" -eq 11 ]
}

@test "built-in list items carry no kind or apiVersion, as from a real server; custom resources' do" {
  run apisim_curl /api/v1/nodes
  [ "$(jq -c '[.kind,.apiVersion,(.items|length),.items[0].kind,.items[0].metadata.name]' <<<"$output")" = '["NodeList","v1",4,null,"node01"]' ] || flunk "$output"
  run apisim_curl /api/v1/nodes/node01
  [ "$(jq -c '[.kind,.apiVersion]' <<<"$output")" = '["Node","v1"]' ]
  run apisim_curl /apis/apps/v1/namespaces/kubevirt/daemonsets
  [ "$(jq -c '[.kind,.items[0].kind,.items[0].metadata.name]' <<<"$output")" = '["DaemonSetList",null,"virt-handler"]' ] || flunk "$output"
}

@test "kubectl get vm,vmi,vmim,kv -A prints KubeVirt's columns" {
  run kubectl get vm,vmi,vmim,kv -A
  assert_success
  assert_output_contains "virtualmachine.kubevirt.io/rhel9-db"
  assert_output_contains "virtualmachineinstance.kubevirt.io/rhel9-db"
  assert_output_contains "virtualmachineinstancemigration.kubevirt.io/kubevirt-evacuation-7xk2p"
  assert_output_contains "kubevirt.kubevirt.io/kubevirt"
  [[ "$output" =~ NAMESPACE\ +NAME\ +AGE\ +PHASE\ +IP\ +NODENAME\ +READY ]] || flunk "$output"
  [[ "$output" =~ vm-prod\ +virtualmachineinstance.kubevirt.io/rhel9-db\ +[0-9]+d\ +Running\ +10.244.3.32\ +node03\ +True ]] || flunk "$output"
  [[ "$output" =~ vm-prod\ +virtualmachine.kubevirt.io/legacy-crashed\ +[0-9]+d\ +CrashLoopBackOff\ +False ]] || flunk "$output"
  [[ "$output" =~ kubevirt\ +kubevirt.kubevirt.io/kubevirt\ +[0-9]+d\ +Deployed ]] || flunk "$output"
  run kubectl get nodes
  [[ "$output" =~ node03\ +Ready,SchedulingDisabled\ +worker ]] || flunk "$output"
  [[ "$output" =~ node04\ +Unknown ]] || flunk "$output"
}

@test "a Table is served for Accept as=Table (row objects as PartialObjectMetadata), plain JSON otherwise" {
  run apisim_curl "$VMIS?limit=2" -H 'Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json'
  [ "$(jq -c '[.kind,.apiVersion,[.columnDefinitions[].name][0:6],(.rows|length),.rows[0].object.kind,.rows[0].cells[0]]' <<<"$output")" = \
    '["Table","meta.k8s.io/v1",["Name","Age","Phase","IP","NodeName","Ready"],2,"PartialObjectMetadata","testvmi-ephemeral"]' ] || flunk "$output"
  [ -n "$(jq -r .metadata.continue <<<"$output")" ]
  run apisim_curl "$VMIS?includeObject=None" -H 'Accept: application/json;as=Table;v=v1;g=meta.k8s.io'
  [ "$(jq '[.rows[] | select(.object)] | length' <<<"$output")" -eq 0 ]
  run apisim_curl "$VMIS" -H 'Accept: application/json'
  [ "$(jq -r .kind <<<"$output")" = VirtualMachineInstanceList ]
}

@test "-n, -l and --field-selector filter, with every label selector operator" {
  names() { kubectl get "$@" -o jsonpath='{range .items[*]}{.metadata.name}{" "}{end}'; }
  run names vmi -n vm-dev
  assert_output "alpine-pending centos-batch debian-scheduling opensuse-scheduled ubuntu-dev win-paused "
  run names vmi -A -l kubevirt.io/nodeName=node02
  assert_output "testvmi-ephemeral centos-batch ubuntu-dev legacy-crashed "
  run names vmi -A -l 'kubevirt.io/nodeName in (node03,node04)'
  assert_output "redis-cache rhel9-db "
  run names vmi -n vm-prod -l 'kubevirt.io/nodeName notin (node01,node02)'
  assert_output "redis-cache rhel9-db "
  run names vmi -A -l '!kubevirt.io/nodeName'
  assert_output "alpine-pending debian-scheduling "
  run names vmi -A -l 'special'
  assert_output "testvmi-ephemeral "
  run names vmi -A -l 'kubevirt.io/size==large,app!=rhel9'
  assert_output "win-paused "
  run names vmi -A --field-selector status.phase=Running
  assert_output "testvmi-ephemeral ubuntu-dev win-paused fedora-web rhel9-db "
  run names vmi -A --field-selector 'status.phase=Running,status.nodeName!=node01'
  assert_output "testvmi-ephemeral ubuntu-dev rhel9-db "
  run names vmi -A --field-selector metadata.namespace=default
  assert_output "testvmi-ephemeral "
  run names vmim -A --field-selector metadata.name=migrate-ubuntu-dev
  assert_output "migrate-ubuntu-dev "
  run names pods -A --field-selector spec.nodeName=node03
  assert_output "virt-handler-k6w3f virt-launcher-rhel9-db-52312 "
  run names pods -n vm-dev --field-selector spec.nodeName=
  assert_output "virt-launcher-debian-scheduling-361d5 "
  run names pods -n vm-prod --field-selector status.phase=Failed
  assert_output "virt-launcher-legacy-crashed-f7a11 "
  run names nodes --field-selector spec.unschedulable=true
  assert_output "node03 "
  # Unsupported fields and bad selectors are 400 BadRequest Status objects.
  run apisim_curl "$VMIS?fieldSelector=spec.nodeName%3Dnode01" -w '\n%{http_code}'
  [ "${lines[1]}" = 400 ] || flunk "$output"
  [ "$(jq -c '[.kind,.reason,.message]' <<<"${lines[0]}")" = '["Status","BadRequest","field label not supported: spec.nodeName"]' ] || flunk "$output"
  run apisim_curl "$VMIS?labelSelector=a%20in%20(b" -o /dev/null -w '%{http_code}'
  assert_output 400
}

@test "single objects: GET by name, 404 NotFound Status for a missing one" {
  local uid
  uid="$(apisim_ctl GET /objects/vmis/vm-prod/rhel9-db | jq -r .metadata.uid)"
  run kubectl get vmi rhel9-db -n vm-prod -o jsonpath='{.metadata.uid}'
  assert_output "$uid"
  run kubectl get node node04 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}'
  assert_output Unknown
  run apisim_curl /apis/kubevirt.io/v1/namespaces/vm-prod/virtualmachineinstances/nope -w '\n%{http_code}'
  [ "${lines[1]}" = 404 ]
  [ "$(jq -c '[.kind,.status,.reason,.code,.message,.details]' <<<"${lines[0]}")" = \
    '["Status","Failure","NotFound",404,"virtualmachineinstances.kubevirt.io \"nope\" not found",{"name":"nope","group":"kubevirt.io","kind":"virtualmachineinstances"}]' ] || flunk "$output"
  run kubectl get vmi nope -n vm-prod
  assert_status 1
  assert_output_contains 'virtualmachineinstances.kubevirt.io "nope" not found'
}

@test "the fixtures are consistent: owners, nodes, launcher pods and migrations refer to objects that exist" {
  local vms vmis nodes pods migs
  vms="$(apisim_ctl GET /objects/vms)"; vmis="$(apisim_ctl GET /objects/vmis)"; nodes="$(apisim_ctl GET /objects/nodes)"
  pods="$(apisim_ctl GET /objects/pods)"; migs="$(apisim_ctl GET /objects/vmims)"
  # Every VMI owned by a VM is owned by the VM of its name and namespace.
  run jq -n --argjson vms "$vms" --argjson vmis "$vmis" '[$vmis.items[] | select(.metadata.ownerReferences) as $i
      | select([$vms.items[] | select(.metadata.uid == $i.metadata.ownerReferences[0].uid and .metadata.name == $i.metadata.name
                                      and .metadata.namespace == $i.metadata.namespace)] | length != 1) | $i.metadata.name]'
  assert_output "[]"
  # VMIs run on fixture nodes; the nodeName label agrees with status.nodeName.
  run jq -n --argjson nodes "$nodes" --argjson vmis "$vmis" '[$vmis.items[] | select(.status.nodeName) as $i
      | select(([$nodes.items[].metadata.name] | index($i.status.nodeName)) == null or $i.metadata.labels["kubevirt.io/nodeName"] != $i.status.nodeName)
      | $i.metadata.name]'
  assert_output "[]"
  # virt-launcher pods carry the uid of an existing VMI, their owner.
  run jq -n --argjson pods "$pods" --argjson vmis "$vmis" '[$pods.items[] | select(.metadata.labels["kubevirt.io"] == "virt-launcher") as $p
      | select([$vmis.items[] | select(.metadata.uid == $p.metadata.labels["kubevirt.io/created-by"] and .metadata.uid == $p.metadata.ownerReferences[0].uid)] | length != 1)
      | $p.metadata.name]'
  assert_output "[]"
  # Migrations name existing VMIs; a VMI's migrationState names its migration.
  run jq -n --argjson migs "$migs" --argjson vmis "$vmis" '[$migs.items[] as $m
      | select([$vmis.items[] | select(.metadata.name == $m.spec.vmiName and .metadata.namespace == $m.metadata.namespace)] | length != 1) | $m.metadata.name]'
  assert_output "[]"
  run jq -n --argjson migs "$migs" --argjson vmis "$vmis" '[$vmis.items[] | select(.status.migrationState) as $i
      | select([$migs.items[] | select(.metadata.uid == $i.status.migrationState.migrationUid)] | length != 1) | $i.metadata.name]'
  assert_output "[]"
  # Every VMI phase is there.
  run jq -r '[.items[].status.phase] | unique | join(" ")' <<<"$vmis"
  assert_output "Failed Pending Running Scheduled Scheduling Succeeded Unknown"
}

@test "objects get uid, creationTimestamp, generation and resourceVersion; spec changes bump generation; a no-op update is no event" {
  run apisim_upsert "$(vmi vm-dev gen-test)"
  assert_success
  [ "$(jq -r '.results[0].type' <<<"$output")" = ADDED ]
  local obj rv1 uid
  obj="$(apisim_ctl GET /objects/vmis/vm-dev/gen-test)"
  uid="$(jq -r .metadata.uid <<<"$obj")"
  rv1="$(jq -r .metadata.resourceVersion <<<"$obj")"
  [[ "$uid" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] || flunk "uid $uid"
  [[ "$(jq -r .metadata.creationTimestamp <<<"$obj")" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]] || flunk "$obj"
  [ "$(jq -r .metadata.generation <<<"$obj")" = 1 ]
  # A status change: same generation, newer resourceVersion, same uid.
  apisim_upsert "$(vmi vm-dev gen-test '{}' Running)" >/dev/null
  obj="$(apisim_ctl GET /objects/vmis/vm-dev/gen-test)"
  [ "$(jq -r .metadata.generation <<<"$obj")" = 1 ]
  [ "$(jq -r .metadata.uid <<<"$obj")" = "$uid" ]
  [ "$(jq -r .metadata.resourceVersion <<<"$obj")" -gt "$rv1" ]
  # A spec change bumps the generation.
  apisim_upsert '{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachineInstance","metadata":{"name":"gen-test","namespace":"vm-dev"},"spec":{"domain":{"devices":{"autoattachPodInterface":false}}},"status":{"phase":"Running"}}' >/dev/null
  [ "$(apisim_ctl GET /objects/vmis/vm-dev/gen-test | jq -r .metadata.generation)" = 2 ]
  # The same again changes nothing.
  local before
  before="$(current_rv)"
  run apisim_upsert '{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachineInstance","metadata":{"name":"gen-test","namespace":"vm-dev"},"spec":{"domain":{"devices":{"autoattachPodInterface":false}}},"status":{"phase":"Running"}}'
  [ "$(jq -r '.results[0].type' <<<"$output")" = UNCHANGED ] || flunk "$output"
  [ "$(current_rv)" = "$before" ]
  apisim_delete vmis vm-dev gen-test >/dev/null
}

@test "resource versions come from one increasing counter across resources; a List is stored item by item" {
  local before after
  before="$(current_rv)"
  run apisim_upsert '{"apiVersion":"v1","kind":"List","items":[
    {"apiVersion":"v1","kind":"Namespace","metadata":{"name":"rv-test"}},
    {"apiVersion":"kubevirt.io/v1","kind":"VirtualMachine","metadata":{"name":"a","namespace":"rv-test"},"spec":{"runStrategy":"Halted"}},
    {"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"rv-test"},"spec":{"containers":[]}}]}'
  assert_success
  [ "$(jq -r '[.results[].resourceVersion | tonumber] | . == (sort) and (unique | length) == 3' <<<"$output")" = true ] || flunk "$output"
  [ "$(jq -r '.results[0].resourceVersion' <<<"$output")" -eq $((before + 1)) ]
  # A typed list (VirtualMachineInstanceList) takes its items' kind from the list.
  run apisim_upsert '{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachineInstanceList","items":[{"metadata":{"name":"typed","namespace":"rv-test"},"spec":{}}]}'
  [ "$(jq -r '.results[0] | .type + " " + .resource' <<<"$output")" = "ADDED virtualmachineinstances" ] || flunk "$output"
  apisim_delete vms rv-test a >/dev/null
  apisim_delete pods rv-test p >/dev/null
  apisim_delete vmis rv-test typed >/dev/null
  apisim_delete namespaces rv-test >/dev/null
  after="$(current_rv)"
  [ "$after" -eq $((before + 8)) ] || flunk "$before -> $after"
  run apisim_curl /api/v1/pods
  [ "$(jq -r .metadata.resourceVersion <<<"$output")" = "$after" ]
}

@test "kubectl get vmis -A --watch --output-watch-events sees ADDED, MODIFIED and DELETED from the control API" {
  background bash -c "exec kubectl get vmis -A --watch --output-watch-events -o json >'$TEST_TMP/events.json' 2>'$TEST_TMP/kubectl.err'"
  apisim_wait_watches vmis
  apisim_upsert "$(vmi vm-dev watched)" >/dev/null
  apisim_upsert "$(vmi vm-dev watched '{"stage":"two"}' Running)" >/dev/null
  apisim_delete vmis vm-dev watched >/dev/null
  wait_for 100 grep -q DELETED "$TEST_TMP/events.json"
  run jq -r 'select(.object.metadata.name == "watched") | .type + " " + (.object.status.phase // "")' "$TEST_TMP/events.json"
  assert_output "ADDED Pending
MODIFIED Running
DELETED Running"
  # The initial list came first, as ADDED events.
  [ "$(jq -r 'select(.type == "ADDED") | .object.metadata.name' "$TEST_TMP/events.json" | grep -c .)" -ge 12 ]
  [ "$(apisim_count_requests watch vmis)" -eq 1 ]
}

@test "a watch streams one JSON event per line in a chunked response, replaying the history after resourceVersion" {
  local rv
  rv="$(current_rv)"
  apisim_upsert "$(vmi default replay-1)" >/dev/null
  apisim_upsert "$(vmi default replay-2)" >/dev/null
  apisim_delete vmis default replay-1 >/dev/null
  run apisim_curl "$VMIS?watch=1&resourceVersion=$rv&timeoutSeconds=1" --http1.1 -D "$TEST_TMP/headers"
  assert_success
  grep -qi '^Transfer-Encoding: chunked' "$TEST_TMP/headers" || flunk "$(cat "$TEST_TMP/headers")"
  grep -qi '^Content-Type: application/json' "$TEST_TMP/headers"
  [ "${#lines[@]}" -eq 3 ] || flunk "$output"
  run jq -r '.type + " " + .object.metadata.name + " " + .object.metadata.resourceVersion' <<<"$output"
  assert_output "ADDED replay-1 $((rv + 1))
ADDED replay-2 $((rv + 2))
DELETED replay-1 $((rv + 3))"
  # watch=true on a namespaced path, and the /watch/ path prefix, both stream.
  run apisim_curl "/apis/kubevirt.io/v1/watch/namespaces/default/virtualmachineinstances?resourceVersion=$rv&timeoutSeconds=1"
  [ "$(jq -r .type <<<"$output" | tr '\n' ' ')" = "ADDED ADDED DELETED " ] || flunk "$output"
  # Without resourceVersion, the current objects come first as ADDED.
  run apisim_curl "/apis/kubevirt.io/v1/namespaces/default/virtualmachineinstances?watch=true&timeoutSeconds=1"
  [ "$(jq -r '.type + " " + .object.metadata.name' <<<"$output" | tr '\n' ' ')" = "ADDED replay-2 ADDED testvmi-ephemeral " ] || flunk "$output"
  apisim_delete vmis default replay-2 >/dev/null
}

@test "a selective watch sees an object leave its selection as DELETED and enter it as ADDED" {
  local rv
  rv="$(current_rv)"
  apisim_upsert "$(vmi default sel '{"tier":"gold"}')" >/dev/null
  apisim_upsert "$(vmi default sel '{"tier":"silver"}')" >/dev/null
  apisim_upsert "$(vmi default sel '{"tier":"gold"}' Running)" >/dev/null
  apisim_delete vmis default sel >/dev/null
  run apisim_curl "$VMIS?watch=1&resourceVersion=$rv&timeoutSeconds=1&labelSelector=tier%3Dgold"
  run jq -r '.type + " " + .object.metadata.labels.tier' <<<"$output"
  assert_output "ADDED gold
DELETED silver
ADDED gold
DELETED gold"
  run apisim_curl "$VMIS?watch=1&resourceVersion=$rv&timeoutSeconds=1&fieldSelector=status.phase%3DRunning"
  [ "$(jq -r .type <<<"$output" | tr '\n' ' ')" = "ADDED DELETED " ] || flunk "$output"
}

@test "bookmarks: periodic and on request, only to watches that allow them, at the newest resourceVersion" {
  watch_to "$TEST_TMP/bm" "$VMIS?watch=1&allowWatchBookmarks=true&resourceVersion=$(current_rv)&timeoutSeconds=30"
  watch_to "$TEST_TMP/plain" "$VMIS?watch=1&resourceVersion=$(current_rv)&timeoutSeconds=30"
  apisim_wait_watches vmis 2
  wait_for 50 grep -q BOOKMARK "$TEST_TMP/bm"
  run jq -c 'select(.type == "BOOKMARK") | .object' "$TEST_TMP/bm"
  [ "${lines[0]}" = "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachineInstance\",\"metadata\":{\"resourceVersion\":\"$(current_rv)\"}}" ] || flunk "$output"
  # Only on request now: a BOOKMARK arrives at once, the other watch gets none.
  apisim_ctl PUT /config '{"bookmarkInterval":"0s"}' >/dev/null
  sleep 1.2 # a periodic bookmark in flight has been written by now
  local before
  before="$(grep -c BOOKMARK "$TEST_TMP/bm")"
  run apisim_ctl POST /bookmark '{"resource":"vmi"}'
  [ "$(jq .watches <<<"$output")" -eq 1 ] || flunk "$output"
  wait_for 50 bash -c "[ \$(grep -c BOOKMARK '$TEST_TMP/bm') -gt $before ]"
  apisim_ctl PUT /config '{"bookmarkInterval":"1s"}' >/dev/null
  [ ! -s "$TEST_TMP/plain" ] || ! grep -q BOOKMARK "$TEST_TMP/plain"
}

@test "sendInitialEvents: the current objects as ADDED, then a BOOKMARK marking the end of the initial events" {
  run apisim_curl "/apis/kubevirt.io/v1/namespaces/vm-prod/virtualmachineinstances?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1"
  [ "$(jq -r .type <<<"$output" | tr '\n' ' ')" = "ADDED ADDED ADDED ADDED BOOKMARK " ] || flunk "$output"
  [ "$(jq -r '.object.metadata.annotations["k8s.io/initial-events-end"]' <<<"${lines[4]}")" = true ] || flunk "$output"
  [ "$(jq -r .object.metadata.resourceVersion <<<"${lines[4]}")" = "$(current_rv)" ]
  run apisim_curl "$VMIS?watch=1&sendInitialEvents=true&timeoutSeconds=1" -w '\n%{http_code}'
  assert_output_contains '"reason":"BadRequest"'
}

@test "timeoutSeconds ends a watch cleanly" {
  local start=$SECONDS
  run apisim_curl "$VMIS?watch=1&resourceVersion=$(current_rv)&timeoutSeconds=1" -w '%{http_code}'
  assert_success
  assert_output 200
  [ $((SECONDS - start)) -le 10 ] || flunk "took $((SECONDS - start))s"
}

@test "kubectl --chunk-size=2 pages through the list with limit and continue (request log)" {
  run kubectl get vmis -A --chunk-size=2 -o name
  assert_success
  [ "${#lines[@]}" -eq 11 ] || flunk "$output"
  run apisim_requests list virtualmachineinstances
  [ "${#lines[@]}" -eq 6 ] || flunk "$output"
  [ "$(jq -r .query <<<"${lines[0]}")" = limit=2 ]
  local i
  for i in 1 2 3 4 5; do
    [[ "$(jq -r .query <<<"${lines[$i]}")" == continue=*"&limit=2" ]] || flunk "${lines[$i]}"
    [ "$(jq -r .status <<<"${lines[$i]}")" = 200 ]
  done
}

@test "pagination: later pages come from the first page's snapshot until the history is compacted, then 410 Expired" {
  run apisim_curl "$VMIS?limit=4"
  local page1_rv token
  page1_rv="$(jq -r .metadata.resourceVersion <<<"$output")"
  token="$(jq -r .metadata.continue <<<"$output")"
  [ "$(jq -r .metadata.remainingItemCount <<<"$output")" -eq 7 ] || flunk "$output"
  # resourceVersion=0 is served from the watch cache, which ignores limit.
  run apisim_curl "$VMIS?limit=4&resourceVersion=0"
  [ "$(jq -c '[(.items | length), .metadata.continue]' <<<"$output")" = '[11,null]' ] || flunk "$output"
  # Changes after the first page do not show in the later ones.
  apisim_upsert "$(vmi vm-prod zz-late)" >/dev/null
  apisim_delete vmis vm-prod rhel9-db >/dev/null
  run apisim_curl "$VMIS?limit=100&continue=$token"
  [ "$(jq -r .metadata.resourceVersion <<<"$output")" = "$page1_rv" ]
  [ "$(jq -r '[.items[].metadata.name] | join(" ")' <<<"$output")" = "opensuse-scheduled ubuntu-dev win-paused fedora-web legacy-crashed redis-cache rhel9-db" ] || flunk "$output"
  [ "$(jq -r '.metadata.continue // "none"' <<<"$output")" = none ]
  # Compaction expires the token: 410 Expired, with a token for an inconsistent continuation.
  apisim_ctl POST /compact >/dev/null
  run apisim_curl "$VMIS?limit=100&continue=$token" -w '\n%{http_code}'
  [ "${lines[1]}" = 410 ] || flunk "$output"
  [ "$(jq -c '[.kind,.reason,.code]' <<<"${lines[0]}")" = '["Status","Expired",410]' ]
  [[ "$(jq -r .message <<<"${lines[0]}")" == "The provided continue parameter is too old to display a consistent list result."* ]] || flunk "$output"
  local inconsistent
  inconsistent="$(jq -r .metadata.continue <<<"${lines[0]}")"
  run apisim_curl "$VMIS?limit=100&continue=$inconsistent"
  [ "$(jq -r '[.items[].metadata.name] | join(" ")' <<<"$output")" = "opensuse-scheduled ubuntu-dev win-paused fedora-web legacy-crashed redis-cache zz-late" ] || flunk "$output"
}

@test "fault expire-continue: the next continue gets 410 Expired, the one after works" {
  local token
  token="$(apisim_curl "$VMIS?limit=5" | jq -r .metadata.continue)"
  apisim_fault '{"fault":"expire-continue"}' >/dev/null
  run apisim_curl "$VMIS?limit=5" -o /dev/null -w '%{http_code}'
  assert_output 200
  run apisim_curl "$VMIS?limit=5&continue=$token" -w '\n%{http_code}'
  [ "${lines[1]}" = 410 ] || flunk "$output"
  [ "$(jq -r .reason <<<"${lines[0]}")" = Expired ]
  run apisim_curl "$VMIS?limit=5&continue=$token" -o /dev/null -w '%{http_code}'
  assert_output 200
  [ "$(apisim_requests list | jq -r .fault | grep -c expire-continue)" -eq 1 ]
}

@test "a watch from a compacted resourceVersion gets an ERROR event with a 410 Status, or HTTP 410 when configured" {
  local old
  old="$(current_rv)"
  apisim_upsert "$(vmi default compact-me)" >/dev/null
  apisim_ctl POST /compact >/dev/null
  run apisim_curl "$VMIS?watch=1&resourceVersion=$old" -w '\n%{http_code}'
  [ "${lines[1]}" = 200 ] || flunk "$output"
  [ "$(jq -c '[.type,.object.kind,.object.code,.object.reason]' <<<"${lines[0]}")" = '["ERROR","Status",410,"Expired"]' ] || flunk "$output"
  [[ "$(jq -r .object.message <<<"${lines[0]}")" == "too old resource version: $old ("* ]] || flunk "$output"
  # From the compaction point itself, the watch works.
  run apisim_curl "$VMIS?watch=1&resourceVersion=$((old + 1))&timeoutSeconds=1" -o /dev/null -w '%{http_code}'
  assert_output 200
  apisim_ctl PUT /config '{"tooOld":"http"}' >/dev/null
  run apisim_curl "$VMIS?watch=1&resourceVersion=$old" -w '\n%{http_code}'
  apisim_ctl PUT /config '{"tooOld":"event"}' >/dev/null
  [ "${lines[1]}" = 410 ] || flunk "$output"
  [ "$(jq -c '[.kind,.code,.reason]' <<<"${lines[0]}")" = '["Status",410,"Expired"]' ]
  apisim_delete vmis default compact-me >/dev/null
}

@test "a watch that falls out of a small history is closed; the client's re-watch then gets 410" {
  apisim_ctl PUT /config '{"history":50}' >/dev/null
  local rv
  rv="$(current_rv)"
  watch_to "$TEST_TMP/w" "$VMIS?watch=1&resourceVersion=$rv"
  local pid=${BG_PIDS[-1]}
  apisim_wait_watches vmis
  # 60 events in one batch: the watch's next event is gone before it reads it.
  apisim_ctl POST /bulk '{"resource":"vmis","count":60,"namespace":"small-history","prefix":"h-"}' >/dev/null
  local rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || flunk "curl status $rc"
  [ ! -s "$TEST_TMP/w" ] || flunk "$(cat "$TEST_TMP/w")"
  run apisim_curl "$VMIS?watch=1&resourceVersion=$rv" -w '\n%{http_code}'
  apisim_ctl PUT /config '{"history":10000}' >/dev/null
  [ "$(jq -r .object.code <<<"${lines[0]}")" = 410 ] || flunk "$output"
  grep -q 'fell behind the history' "$APISIM_DIR/apisim.log"
  apisim_ctl DELETE '/objects/vmis?namespace=small-history' >/dev/null
}

@test "fault gone: HTTP 410 on the next watch only" {
  apisim_fault '{"fault":"gone","verb":"watch","resource":"vmis"}' >/dev/null
  run apisim_curl "$VMIS?limit=1" -o /dev/null -w '%{http_code}'
  assert_output 200
  run apisim_curl "$VMIS?watch=1&resourceVersion=$(current_rv)&timeoutSeconds=1" -w '\n%{http_code}'
  [ "${lines[1]}" = 410 ] || flunk "$output"
  [ "$(jq -c '[.kind,.code,.reason]' <<<"${lines[0]}")" = '["Status",410,"Expired"]' ]
  run apisim_curl "$VMIS?watch=1&resourceVersion=$(current_rv)&timeoutSeconds=1" -o /dev/null -w '%{http_code}'
  assert_output 200
  run apisim_requests watch vmis
  [ "$(jq -r '.status' <<<"$output" | tr '\n' ' ')" = "410 200 " ] || flunk "$output"
}

@test "fault gone-event: open watches get an ERROR 410 event and end; scope next hits the next watch after N events" {
  watch_to "$TEST_TMP/w" "$VMIS?watch=1&resourceVersion=$(current_rv)"
  local curl_pid=${BG_PIDS[-1]}
  apisim_wait_watches vmis
  run apisim_fault '{"fault":"gone-event","resource":"vmis"}'
  [ "$(jq -r .affected <<<"$output")" = 1 ] || flunk "$output"
  wait "$curl_pid"
  run jq -c '[.type,.object.code,.object.reason]' "$TEST_TMP/w"
  assert_output '["ERROR",410,"Expired"]'
  apisim_fault '{"fault":"gone-event","scope":"next","afterEvents":2}' >/dev/null
  run apisim_curl "/apis/kubevirt.io/v1/namespaces/vm-prod/virtualmachineinstances?watch=1"
  [ "$(jq -r .type <<<"$output" | tr '\n' ' ')" = "ADDED ADDED ERROR " ] || flunk "$output"
}

@test "faults throttle, unavailable and error: 429 and 503 with Retry-After, 500; counts and resource/verb restrictions hold" {
  apisim_fault '{"fault":"throttle","retryAfterSeconds":7,"count":2,"resource":"pods","verb":"list"}' >/dev/null
  run apisim_curl "$VMIS" -o /dev/null -w '%{http_code}'
  assert_output 200
  run apisim_curl /api/v1/namespaces/kubevirt/pods/virt-handler-4hq8n -o /dev/null -w '%{http_code}'
  assert_output 200
  local i
  for i in 1 2; do
    run apisim_curl /api/v1/pods -D "$TEST_TMP/h" -w '\n%{http_code}'
    [ "${lines[1]}" = 429 ] || flunk "$output"
    grep -qi '^Retry-After: 7' "$TEST_TMP/h" || flunk "$(cat "$TEST_TMP/h")"
    [ "$(jq -c '[.kind,.reason,.code,.details.retryAfterSeconds]' <<<"${lines[0]}")" = '["Status","TooManyRequests",429,7]' ] || flunk "$output"
  done
  run apisim_curl /api/v1/pods -o /dev/null -w '%{http_code}'
  assert_output 200
  apisim_fault '{"fault":"unavailable","retryAfterSeconds":2}' >/dev/null
  run apisim_curl "$VMIS" -D "$TEST_TMP/h" -w '\n%{http_code}'
  [ "${lines[1]}" = 503 ]
  grep -qi '^Retry-After: 2' "$TEST_TMP/h"
  [ "$(jq -r .reason <<<"${lines[0]}")" = ServiceUnavailable ]
  apisim_fault '{"fault":"error","resource":"vmi"}' >/dev/null
  run apisim_curl "$VMIS" -w '\n%{http_code}'
  [ "${lines[1]}" = 500 ]
  [ "$(jq -c '[.kind,.status,.reason,.code]' <<<"${lines[0]}")" = '["Status","Failure","InternalError",500]' ]
  run apisim_ctl GET /faults
  [ "$(jq '.faults | length' <<<"$output")" -eq 0 ] || flunk "$output"
  # kubectl reports the server's error.
  apisim_fault '{"fault":"error","resource":"vmi","count":10}' >/dev/null
  run kubectl get vmis -A
  assert_status 1
  assert_output_contains "Internal error occurred"
  run apisim_fault '{"fault":"bogus"}'
  assert_status 22
}

@test "fault hang: the request is accepted and never answered, until the client gives up" {
  apisim_fault '{"fault":"hang","verb":"list","resource":"vmis"}' >/dev/null
  run --separate-stderr apisim_curl "$VMIS" -m 2 -w '%{http_code}'
  assert_status 28
  assert_output 000
  run apisim_requests list vmis
  [ "$(jq -c '[.status,.fault]' <<<"$output")" = '[0,"hang"]' ] || flunk "$output"
  run kubectl get vmis -A -o name
  assert_success
  apisim_fault '{"fault":"hang","resource":"vmis"}' >/dev/null
  run kubectl --request-timeout=2s get vmis -A
  assert_status 1
}

@test "fault slow: a list is answered late; each watch event is delayed" {
  apisim_fault '{"fault":"slow","delay":"1s","verb":"list"}' >/dev/null
  run apisim_curl "$VMIS" -o /dev/null -w '%{http_code} %{time_total}'
  [ "${output%% *}" = 200 ]
  awk -v t="${output#* }" 'BEGIN { exit !(t >= 0.9) }' || flunk "answered after ${output#* }s"
  apisim_fault '{"fault":"slow","delay":"300ms","verb":"watch"}' >/dev/null
  run apisim_curl "/apis/kubevirt.io/v1/namespaces/vm-dev/virtualmachineinstances?watch=1&timeoutSeconds=30" -m 1 -w '\n%{http_code}'
  # Six ADDED events at 300 ms each do not fit in one second.
  [ "$(grep -c ADDED <<<"$output")" -ge 1 ] || flunk "$output"
  [ "$(grep -c ADDED <<<"$output")" -lt 6 ] || flunk "$output"
}

@test "fault drop: open watches end mid-stream, cleanly (close) or by cutting the connection (reset)" {
  watch_to "$TEST_TMP/w1" "$VMIS?watch=1&resourceVersion=$(current_rv)"
  local pid=${BG_PIDS[-1]}
  apisim_wait_watches vmis
  run apisim_fault '{"fault":"drop","resource":"vmis"}'
  [ "$(jq -r .affected <<<"$output")" = 1 ]
  local rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || flunk "curl status $rc"
  watch_to "$TEST_TMP/w2" "$VMIS?watch=1&resourceVersion=$(current_rv)"
  pid=${BG_PIDS[-1]}
  apisim_wait_watches vmis
  apisim_fault '{"fault":"drop","mode":"reset"}' >/dev/null
  rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 18 ] || flunk "curl status $rc (want 18: transfer closed with outstanding read data)"
  # Scope next: the next watch ends right after its initial events.
  apisim_fault '{"fault":"drop","scope":"next"}' >/dev/null
  run apisim_curl "/apis/kubevirt.io/v1/namespaces/vm-prod/virtualmachineinstances?watch=1"
  assert_success
  [ "$(grep -c ADDED <<<"$output")" -eq 4 ] || flunk "$output"
}

@test "fault malformed: a broken line in the open watches, and the stream goes on" {
  watch_to "$TEST_TMP/w" "$VMIS?watch=1&resourceVersion=$(current_rv)"
  apisim_wait_watches vmis
  apisim_fault '{"fault":"malformed"}' >/dev/null
  apisim_upsert "$(vmi default after-malformed)" >/dev/null
  wait_for 50 grep -q after-malformed "$TEST_TMP/w"
  [ "$(wc -l <"$TEST_TMP/w")" -eq 2 ]
  run jq -c . <<<"$(head -n 1 "$TEST_TMP/w")"
  [ "$status" -ne 0 ] || flunk "the first line parsed: $(head -n 1 "$TEST_TMP/w")"
  run jq -r .type <<<"$(tail -n 1 "$TEST_TMP/w")"
  assert_output ADDED
  apisim_delete vmis default after-malformed >/dev/null
}

@test "TLS: curl and kubectl refuse a server certificate from another CA" {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=other-ca \
    -keyout "$TEST_TMP/other.key" -out "$TEST_TMP/other.crt" 2>/dev/null
  run curl -sS --cacert "$TEST_TMP/other.crt" -H "Authorization: Bearer $(apisim_token)" "$APISIM_URL$VMIS"
  assert_status 60
  sed "s|certificate-authority-data: .*|certificate-authority-data: $(base64 -w0 "$TEST_TMP/other.crt")|" "$KUBECONFIG" >"$TEST_TMP/kubeconfig"
  run kubectl --kubeconfig "$TEST_TMP/kubeconfig" get vmis -A
  assert_status 1
  assert_output_contains "certificate signed by unknown authority"
}

@test "client certificates signed by the simulator's CA authenticate; others are refused in the handshake" {
  run curl -sS --cacert "$APISIM_STATE/ca.crt" --cert "$APISIM_STATE/client.crt" --key "$APISIM_STATE/client.key" -o /dev/null -w '%{http_code}' "$APISIM_URL$VMIS"
  assert_output 200
  run kubectl --kubeconfig "$APISIM_STATE/kubeconfig-clientcert" get vmis -n vm-prod -o name
  assert_success
  assert_output_contains "virtualmachineinstance.kubevirt.io/fedora-web"
  [ "$(apisim_requests list vmis | tail -n 1 | jq -r .user)" = apisim-admin ]
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=intruder \
    -keyout "$TEST_TMP/self.key" -out "$TEST_TMP/self.crt" 2>/dev/null
  run curl -sS --cacert "$APISIM_STATE/ca.crt" --cert "$TEST_TMP/self.crt" --key "$TEST_TMP/self.key" -o /dev/null "$APISIM_URL$VMIS"
  [ "$status" -ne 0 ] || flunk "a self-signed client certificate was accepted"
}

@test "token rotation: the old token gets 401, the new one (in the token file and kubeconfig) works" {
  local old new
  old="$(apisim_token)"
  run apisim_ctl POST /token/rotate '{}'
  new="$(jq -r .token <<<"$output")"
  [ "$(jq -r .previous <<<"$output")" = "$old" ]
  [ "$new" != "$old" ]
  [ "$(apisim_token)" = "$new" ]
  run curl -sS --cacert "$APISIM_STATE/ca.crt" -H "Authorization: Bearer $old" -o /dev/null -w '%{http_code}' "$APISIM_URL$VMIS"
  assert_output 401
  run kubectl --token "$old" get vmis -A
  assert_status 1
  assert_output_contains "Unauthorized"
  run kubectl get vmis -A -o name
  assert_success
  # keepOld leaves the previous token valid, as a projected token's grace period does.
  apisim_ctl POST /token/rotate '{"token":"fixed-test-token","keepOld":true}' >/dev/null
  run curl -sS --cacert "$APISIM_STATE/ca.crt" -H "Authorization: Bearer $new" -o /dev/null -w '%{http_code}' "$APISIM_URL$VMIS"
  assert_output 200
  [ "$(apisim_token)" = fixed-test-token ]
}

@test "a token forbidden for a resource gets 403 Forbidden Status for it, and 200 elsewhere" {
  apisim_ctl POST /tokens '{"token":"limited","user":"system:serviceaccount:monitoring:limited","forbidden":["pods","vmims"]}' >/dev/null
  apisim_ctl POST /tokens '{"token":"no-watch","forbidden":[{"resource":"vmis","verbs":["watch"]}]}' >/dev/null
  run curl -sS --cacert "$APISIM_STATE/ca.crt" -H 'Authorization: Bearer limited' -w '\n%{http_code}' "$APISIM_URL/api/v1/namespaces/kubevirt/pods"
  [ "${lines[1]}" = 403 ] || flunk "$output"
  [ "$(jq -c '[.kind,.status,.reason,.code,.details.kind]' <<<"${lines[0]}")" = '["Status","Failure","Forbidden",403,"pods"]' ] || flunk "$output"
  [ "$(jq -r .message <<<"${lines[0]}")" = 'pods is forbidden: User "system:serviceaccount:monitoring:limited" cannot list resource "pods" in API group "" in the namespace "kubevirt"' ] || flunk "$output"
  run curl -sS --cacert "$APISIM_STATE/ca.crt" -H 'Authorization: Bearer limited' -o /dev/null -w '%{http_code}' "$APISIM_URL$VMIS"
  assert_output 200
  run kubectl --token limited get vmim -A
  assert_status 1
  assert_output_contains 'virtualmachineinstancemigrations.kubevirt.io is forbidden'
  run curl -sS --cacert "$APISIM_STATE/ca.crt" -H 'Authorization: Bearer no-watch' -o /dev/null -w '%{http_code}' "$APISIM_URL$VMIS?watch=1"
  assert_output 403
  run curl -sS --cacert "$APISIM_STATE/ca.crt" -H 'Authorization: Bearer no-watch' -o /dev/null -w '%{http_code}' "$APISIM_URL$VMIS"
  assert_output 200
  apisim_ctl DELETE /tokens/limited >/dev/null
  run curl -sS --cacert "$APISIM_STATE/ca.crt" -H 'Authorization: Bearer limited' -o /dev/null -w '%{http_code}' "$APISIM_URL$VMIS"
  assert_output 401
}

@test "the request log records method, path, query, verb, resource, namespace, status and user; DELETE clears it" {
  apisim_curl "/api/v1/namespaces/kubevirt/pods?limit=3&labelSelector=kubevirt.io%3Dvirt-handler" >/dev/null
  apisim_curl /api/v1/namespaces/kubevirt/pods/virt-handler-4hq8n >/dev/null
  curl -s --cacert "$APISIM_STATE/ca.crt" "$APISIM_URL$VMIS" >/dev/null
  run apisim_requests
  [ "${#lines[@]}" -eq 3 ] || flunk "$output"
  [ "$(jq -c '[.method,.path,.query,.verb,.resource,.namespace,.status,.user]' <<<"${lines[0]}")" = \
    '["GET","/api/v1/namespaces/kubevirt/pods","limit=3&labelSelector=kubevirt.io%3Dvirt-handler","list","pods","kubevirt",200,"system:serviceaccount:kubevirt-monitoring:kv-watch"]' ] || flunk "$output"
  [ "$(jq -c '[.verb,.name]' <<<"${lines[1]}")" = '["get","virt-handler-4hq8n"]' ]
  [ "$(jq -r .status <<<"${lines[2]}")" = 401 ]
  [ "$(jq -s '[.[].seq] == ([.[].seq] | sort)' <<<"$output")" = true ]
  apisim_ctl DELETE /requests >/dev/null
  run apisim_requests
  assert_output ""
}

@test "control API: reads sorted objects, filters by namespace and selectors, reports errors as JSON" {
  run apisim_ctl GET '/objects/pods?namespace=kubevirt&labelSelector=kubevirt.io%3Dvirt-handler'
  [ "$(jq -r '[.items[].metadata.name] | join(" ")' <<<"$output")" = "virt-handler-4hq8n virt-handler-9vz2c virt-handler-k6w3f virt-handler-t2m7x" ] || flunk "$output"
  run apisim_ctl GET /objects/no
  [ "$(jq -r '[.items[].metadata.name] | join(" ")' <<<"$output")" = "node01 node02 node03 node04" ]
  run apisim_ctl GET /objects/nodes/node02
  [ "$(jq -r .metadata.name <<<"$output")" = node02 ]
  run apisim_ctl GET /objects/nonsense
  assert_status 22
  assert_output_contains '"error": "unknown resource \"nonsense\""'
  run apisim_ctl GET /objects/vmis/rhel9-db
  assert_status 22
  assert_output_contains "namespaced"
  run apisim_ctl POST /objects '{"apiVersion":"kubevirt.io/v1","kind":"Nope","metadata":{"name":"x"}}'
  assert_status 22
  assert_output_contains 'no resource is served for apiVersion \"kubevirt.io/v1\" kind \"Nope\"'
  run apisim_ctl POST /objects 'not json'
  assert_status 22
  run apisim_ctl DELETE /objects/vmis/vm-prod/never-there
  assert_status 22
}

@test "POST /reset brings the objects back to the fixtures, with new resource versions" {
  local uid before
  uid="$(apisim_ctl GET /objects/vmis/vm-prod/rhel9-db | jq -r .metadata.uid)"
  apisim_delete vmis vm-prod rhel9-db >/dev/null
  apisim_upsert "$(vmi vm-prod extra)" >/dev/null
  apisim_upsert '{"apiVersion":"v1","kind":"Node","metadata":{"name":"node02"},"spec":{"unschedulable":true}}' >/dev/null
  before="$(current_rv)"
  run apisim_ctl POST /reset
  assert_success
  [ "$(jq -r .changed <<<"$output")" -eq 3 ] || flunk "$output"
  [ "$(jq -r .resourceVersion <<<"$output")" -eq $((before + 3)) ] || flunk "$output"
  [ "$(apisim_ctl GET /objects/vmis/vm-prod/rhel9-db | jq -r .metadata.uid)" = "$uid" ]
  run apisim_ctl GET /objects/vmis/vm-prod/extra
  assert_status 22
  diff -u <(jq -S '.items[] | select(.metadata.name == "node02") | .status' "$APISIM_FIXTURES/01-nodes.json") \
    <(apisim_ctl GET /objects/nodes/node02 | jq -S .status)
  [ "$(apisim_ctl GET /objects/nodes/node02 | jq -r '.spec.unschedulable // false')" = false ]
  run apisim_ctl POST /reset
  [ "$(jq -r .changed <<<"$output")" -eq 0 ] || flunk "$output"
}

@test "bulk load and event generator: 10,000 VMIs and VMs; 50,000 MODIFIED events all reach a watching curl" {
  run apisim_ctl POST /bulk '{"resource":"vmis","count":10000,"namespace":"bench","prefix":"vm-","from":"vm-prod/fedora-web","nodes":["node01","node02"]}'
  assert_success
  [ "$(jq -r .created <<<"$output")" -eq 10000 ]
  apisim_ctl POST /bulk '{"resource":"vms","count":10000,"namespace":"bench","prefix":"vm-","from":"vm-prod/fedora-web"}' >/dev/null
  run apisim_ctl GET /objects/vmis/bench/vm-01234
  [ "$(jq -c '[.metadata.labels["vm.kubevirt.io/name"],.metadata.labels["kubevirt.io/nodeName"],.status.nodeName,.metadata.ownerReferences]' <<<"$output")" = '["vm-01234","node01","node01",null]' ] || flunk "$output"
  run kubectl get vmis -n bench -o name --chunk-size=500
  [ "${#lines[@]}" -eq 10000 ]
  local rv
  rv="$(current_rv)"
  background bash -c "curl -sS -N --cacert '$APISIM_STATE/ca.crt' -H 'Authorization: Bearer $(apisim_token)' '$APISIM_URL/apis/kubevirt.io/v1/namespaces/bench/virtualmachineinstances?watch=1&resourceVersion=$rv' | cut -d'\"' -f4 | sort | uniq -c >'$TEST_TMP/counts'"
  apisim_wait_watches vmis
  run apisim_ctl POST /generate '{"resource":"vmis","namespace":"bench","count":50000}'
  assert_success
  echo "# generator: $(jq -c . <<<"$output")" >&3
  [ "$(jq -r .events <<<"$output")" -eq 50000 ]
  [ "$(jq -r .lastResourceVersion <<<"$output")" -eq $((rv + 50000)) ]
  wait_for 600 bash -c "[ \"\$(curl -s '$APISIM_CONTROL/watches?resource=vmis' | jq -r '.watches[0].resourceVersion')\" = $((rv + 50000)) ]"
  apisim_fault '{"fault":"drop","resource":"vmis"}' >/dev/null
  wait_for 100 test -s "$TEST_TMP/counts"
  run cat "$TEST_TMP/counts"
  [ "$(awk '{print $1, $2}' <<<"$output")" = "50000 MODIFIED" ] || flunk "$output"
  # Deleting with a selector: one DELETED event each.
  run apisim_ctl DELETE '/objects/vmis?namespace=bench&labelSelector=kubevirt.io%2FnodeName%3Dnode02'
  [ "$(jq '.results | length' <<<"$output")" -eq 5000 ] || flunk "$(head -c 300 <<<"$output")"
  [ "$(apisim_ctl GET '/objects/vmis?namespace=bench' | jq '.items | length')" -eq 5000 ]
}

@test "SIGTERM: exit status 0 with a watch open, the ready flag removed" {
  local dir="$TEST_TMP/second"
  kube-apisim --state-dir "$dir" --no-tls --token t0 2>"$TEST_TMP/second.log" &
  local pid=$!
  BG_PIDS+=("$pid")
  wait_for 50 test -f "$dir/ready"
  local url
  url="$(cat "$dir/api-url")"
  [[ "$url" == http://127.0.0.1:* ]] || flunk "$url"
  [ ! -e "$dir/ca.crt" ]
  background curl -sS -N -H 'Authorization: Bearer t0' -o /dev/null "$url/api/v1/pods?watch=1"
  wait_for 50 bash -c "curl -s \"\$(cat '$dir/control-url')/watches\" | jq -e '.watches | length == 1'"
  local start=$SECONDS rc=0
  kill -TERM "$pid"
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || flunk "status $rc: $(cat "$TEST_TMP/second.log")"
  [ $((SECONDS - start)) -le 5 ] || flunk "SIGTERM took $((SECONDS - start))s"
  [ ! -e "$dir/ready" ]
  grep -q 'shutting down' "$TEST_TMP/second.log"
}
