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

@test "make demo prints a Prometheus exposition of KubeVirt-shaped samples" {
  run make -s -C "$KV_ROOT" BUILD="$KV_BUILD" demo
  assert_success
  assert_output_contains '# TYPE kubevirt_vmi_memory_resident_bytes gauge'
  assert_output_contains 'kubevirt_vmi_vcpu_seconds_total{id="1",name="vm-00002",namespace="ns-000",node="node-000",state="running"}'
}
