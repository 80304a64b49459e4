# shellcheck shell=bash
# What the kv-*-collector entrypoints share; sourced by them, not run.
#
# They start a pipeline of the toolkit's tools and supervise it as a
# container's PID 1 must, which a plain `producer | kv-promfmt` does not:
#
# - The kernel gives PID 1 only the signals it has a handler for, so SIGTERM
#   and SIGINT are trapped here and passed on to every stage as SIGTERM
#   (background jobs of a non-interactive shell ignore SIGINT).
# - A pipe would not notice a dead stage: kv-promfmt keeps serving the last
#   snapshot of a FIFO input whose writer is gone, and a producer only sees
#   a dead reader when it next writes. So each stage runs in the background
#   and the first one to end, for whatever reason, stops all of them with a
#   non-zero exit status, so that Kubernetes restarts the container.
# - Every stage is waited for (and bash reaps whatever else ends up as its
#   child), so no zombie or orphan is left behind.

kv_self=${0##*/}
kv_pids=()                # the stages, in the order they started
declare -A kv_stage=()    # pid -> what runs there, for the logs
kv_signal=                # the first of SIGTERM/SIGINT that arrived
kv_tmp=

kv_log() { printf '%s: %s\n' "$kv_self" "$*" >&2; }

# Configuration is by environment: --help prints the caller's usage, any
# other argument is a usage error (status 2, as the tools have).
kv_args() {
  case "$#:${1-}" in
    0:) return 0 ;;
    1:-h | 1:--help) usage; exit 0 ;;
  esac
  kv_log "takes no arguments (it is configured by environment variables): $*"
  usage >&2
  exit 2
}

# A private directory for the FIFOs, removed at exit. The pods' root file
# system is read-only: TMPDIR, or /tmp, must be a writable mount (emptyDir).
kv_make_tmpdir() {
  kv_tmp=$(mktemp -d "${TMPDIR:-/tmp}/$kv_self.XXXXXX") || {
    kv_log "cannot create a directory in ${TMPDIR:-/tmp}: mount a writable volume there or set TMPDIR"
    exit 1
  }
  trap 'rm -rf "$kv_tmp"' EXIT
}

# Traps are set before the first stage starts, so that a signal arriving
# during start-up is not lost. The handler itself stops the stages: a
# signal that lands just before `wait` starts would otherwise go unseen
# until some stage ended by itself.
kv_trap_signals() {
  trap 'kv_on_signal TERM' TERM
  trap 'kv_on_signal INT' INT
}

kv_on_signal() {
  [ -z "$kv_signal" ] || return 0
  kv_signal=$1
  kv_log "SIG$1 received; stopping the pipeline"
  kv_kill TERM
}

# kv_started PID DESCRIPTION: records a stage just started with `&`.
kv_started() {
  kv_pids+=("$1")
  kv_stage[$1]=$2
}

kv_kill() {  # SIGNAL: to every stage
  local pid
  for pid in "${kv_pids[@]}"; do kill "-$1" "$pid" 2>/dev/null || true; done
}

kv_running() {  # the stages still running, one pid a line
  local pid
  for pid in "${kv_pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi
  done
}

# Stops every stage: SIGTERM, then SIGKILL to those still running after
# 10 s (kv-promfmt may spend 5 s delivering its last OTLP push; Kubernetes
# waits 30 s before it kills), then reaps them all. Fails if it had to kill.
kv_stop() {
  local i pid forced=0
  kv_kill TERM
  for ((i = 0; i < 100; i++)); do
    [ -n "$(kv_running)" ] || break
    sleep 0.1
  done
  for pid in $(kv_running); do
    kv_log "${kv_stage[$pid]} (pid $pid) did not stop within 10 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    forced=1
  done
  wait || true
  return "$forced"
}

# kv_run DESCRIPTION COMMAND...: runs a one-shot stage to its end and
# returns its status. It runs as a job, so that a signal stops it at once;
# then the script exits with 128 + the signal's number, as a shell killed
# by it would, since the stage's work was not done.
kv_run() {
  local what=$1 status=0
  shift
  kv_exit_if_signalled
  # <&0: a background job's stdin would otherwise be /dev/null, not the
  # caller's redirection.
  "$@" <&0 &
  kv_started $! "$what"
  wait "$!" || status=$?
  kv_exit_if_signalled
  kv_pids=()
  return "$status"
}

kv_exit_if_signalled() {
  [ -n "$kv_signal" ] || return 0
  kv_stop || true
  exit $((128 + $(kill -l "$kv_signal")))
}

# Waits until a stage ends or a signal arrives, stops the pipeline and
# exits: 0 when a signal stopped it cleanly, else non-zero (the status of
# the stage that ended first, or 1 if that was 0).
kv_supervise() {
  local pid status
  while :; do
    pid=
    status=0
    wait -n -p pid "${kv_pids[@]}" || status=$?
    if [ -n "$kv_signal" ]; then
      if kv_stop; then exit 0; else exit 1; fi
    fi
    if [ -n "$pid" ]; then
      kv_log "${kv_stage[$pid]} (pid $pid) ended with status $status; stopping the pipeline"
      kv_stop || true
      exit $((status == 0 ? 1 : status))
    fi
    # No pid and no signal: nothing left to wait for (cannot happen while
    # every stage's end ends the loop, but never spin on it).
    if [ "$status" -le 128 ]; then
      kv_log "no stage left to wait for"
      exit 1
    fi
  done
}
