# The Kubernetes API simulator (kube-apisim) for the bats suites: start and
# stop it, and drive its control API. tests/apisim/README.md documents the
# simulator; load helpers/common first.
#
#   start_apisim [ARGS...]        starts it on loopback with the state in a temp dir;
#                                 exports APISIM_DIR, APISIM_PID, APISIM_URL, APISIM_CONTROL,
#                                 APISIM_STATE, KUBECONFIG and KUBECACHEDIR
#   stop_apisim                   SIGTERM, wait, remove the temp dir
#   apisim_ctl METHOD PATH [BODY] a control API call; BODY is JSON or @FILE; fails on HTTP >= 400
#   apisim_reset                  objects back to the fixtures (POST /reset)
#   apisim_upsert BODY            create or update an object or a List
#   apisim_delete RESOURCE [NS] NAME
#   apisim_fault BODY             arm a fault (or act at once on open watches)
#   apisim_requests [VERB [RESOURCE]]  the request log, one JSON object per line
#   apisim_count_requests VERB RESOURCE
#   apisim_wait_watches RESOURCE [N]   waits until N (default 1) watches of RESOURCE are open
#   apisim_token                  the current bearer token
#   apisim_curl PATH [CURL ARGS...]    an API request with the CA and the current token

export APISIM_FIXTURES="$KV_ROOT/tests/fixtures/k8s"

start_apisim() {
  APISIM_DIR="$(mktemp -d "${BATS_TMPDIR:-/tmp}/apisim.XXXXXX")"
  APISIM_STATE="$APISIM_DIR/state"
  kube-apisim --state-dir "$APISIM_STATE" "$@" 2>"$APISIM_DIR/apisim.log" &
  APISIM_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do
    [ -f "$APISIM_STATE/ready" ] && break
    if ! kill -0 "$APISIM_PID" 2>/dev/null; then
      cat "$APISIM_DIR/apisim.log" >&2
      return 1
    fi
    sleep 0.1
  done
  if [ ! -f "$APISIM_STATE/ready" ]; then
    cat "$APISIM_DIR/apisim.log" >&2
    stop_apisim
    return 1
  fi
  APISIM_URL="$(cat "$APISIM_STATE/api-url")"
  APISIM_CONTROL="$(cat "$APISIM_STATE/control-url")"
  export APISIM_DIR APISIM_STATE APISIM_PID APISIM_URL APISIM_CONTROL
  # kubectl's discovery cache goes to the temp dir, not to $HOME.
  export KUBECONFIG="$APISIM_STATE/kubeconfig" KUBECACHEDIR="$APISIM_DIR/kube-cache"
}

stop_apisim() {
  if [ -n "${APISIM_PID:-}" ]; then
    kill -TERM "$APISIM_PID" 2>/dev/null || true
    wait "$APISIM_PID" 2>/dev/null || true
    APISIM_PID=
  fi
  if [ -n "${APISIM_DIR:-}" ]; then
    rm -rf "$APISIM_DIR"
    APISIM_DIR=
  fi
}

apisim_ctl() {  # METHOD PATH [BODY]
  local method="$1" path="$2"
  local args=(-sS -X "$method" --fail-with-body -H 'Content-Type: application/json')
  [ $# -ge 3 ] && args+=(--data-binary "$3")
  curl "${args[@]}" "$APISIM_CONTROL$path"
}

apisim_reset() { apisim_ctl POST /reset >/dev/null; }

apisim_upsert() { apisim_ctl POST /objects "$1"; }

apisim_delete() {  # RESOURCE [NAMESPACE] NAME
  local path="/objects/$1/$2"
  [ $# -eq 3 ] && path="$path/$3"
  apisim_ctl DELETE "$path"
}

apisim_fault() { apisim_ctl POST /faults "$1"; }

apisim_requests() {  # [VERB [RESOURCE]]
  apisim_ctl GET "/requests?verb=${1:-}&resource=${2:-}" | jq -c '.requests[]'
}

apisim_count_requests() {  # VERB RESOURCE
  apisim_ctl GET "/requests?verb=$1&resource=$2" | jq '.requests | length'
}

apisim_wait_watches() {  # RESOURCE [N]
  local want="${2:-1}" i
  for ((i = 0; i < 100; i++)); do
    [ "$(apisim_ctl GET "/watches?resource=$1" | jq '.watches | length')" -ge "$want" ] && return 0
    sleep 0.1
  done
  flunk "timed out waiting for $want watch(es) of $1"
}

apisim_token() { cat "$APISIM_STATE/token"; }

apisim_curl() {  # PATH [CURL ARGS...]
  local path="$1"; shift
  curl -sS --cacert "$APISIM_STATE/ca.crt" -H "Authorization: Bearer $(apisim_token)" "$@" "$APISIM_URL$path"
}
