#!/usr/bin/env bats
# The top-level Makefile's user-facing targets: install, uninstall, demo.

setup() {
  load helpers/common
  common_setup
}

teardown() {
  common_teardown
}

@test "make install honours DESTDIR and PREFIX; make uninstall removes what it installed" {
  run make -C "$KV_ROOT" BUILD="$KV_BUILD" install DESTDIR="$TEST_TMP/root" PREFIX=/opt/kv
  assert_success
  [ -x "$TEST_TMP/root/opt/kv/bin/kv-promfmt" ]
  [ "$(stat -c %a "$TEST_TMP/root/opt/kv/share/man/man1/kv-promfmt.1")" = 644 ]
  [ -f "$TEST_TMP/root/opt/kv/share/man/man5/kv-sample.5" ]
  run "$TEST_TMP/root/opt/kv/bin/kv-promfmt" --version
  assert_success
  # Development helpers are not installed.
  [ ! -e "$TEST_TMP/root/opt/kv/bin/kv-gen-samples" ]

  run make -C "$KV_ROOT" BUILD="$KV_BUILD" uninstall DESTDIR="$TEST_TMP/root" PREFIX=/opt/kv
  assert_success
  [ -z "$(find "$TEST_TMP/root" -type f)" ] || flunk "left behind: $(find "$TEST_TMP/root" -type f)"
}

@test "make demo: both pipelines scraped by Prometheus with the rules loaded, a report it checks, nothing left behind" {
  # Bounded: a hang fails the test instead of the CI run.
  run --separate-stderr timeout 600 make -s -C "$KV_ROOT" BUILD="$KV_BUILD" demo
  # shellcheck disable=SC2154 # $stderr comes from run --separate-stderr
  [ "$status" -eq 0 ] || flunk "status $status" "$output" "$stderr"
  assert_output_contains 'demo: ok: both pipelines scraped'
  # Series of each pipeline, per family and job.
  assert_output_contains '  kv-central-collector:'
  assert_output_contains '  kv-node-collector:'
  [[ "$output" =~ kube_pod_status_phase\ +[0-9]+ ]] || flunk "no kube-state family" "$output"
  [[ "$output" =~ kubevirt_vmi_memory_domain_bytes\ +4 ]] || flunk "not 4 domains' memory" "$output"
  # The join of the two pipelines found each node's running VMIs.
  assert_output_contains 'name=fedora-web namespace=vm-prod node=node01 phase=running  67108864'
  assert_output_contains 'name=testvmi-ephemeral namespace=default node=node02 phase=running  67108864'
  [[ "$output" =~ total:\ ([0-9]+)\ rules\ in\ [0-9]+\ groups\;\ 0\ unhealthy ]] || flunk "rules" "$output"
  [ "${BASH_REMATCH[1]}" -gt 50 ]
  # It leaves nothing behind.
  run ls -d /tmp/kv-demo.*
  [ "$status" -ne 0 ] || flunk "left behind: $output"
  run ip link show kvdemo0
  [ "$status" -ne 0 ] || flunk "tap left behind"
  run pgrep -f '/tmp/kv-demo\.'
  [ "$status" -ne 0 ] || flunk "processes left behind: $(pgrep -af '/tmp/kv-demo\.')"
}
