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

@test "make demo prints real domain statistics of a private libvirtd as Prometheus text" {
  run --separate-stderr make -s -C "$KV_ROOT" BUILD="$KV_BUILD" demo
  assert_success
  assert_output_contains '# TYPE kubevirt_vmi_cpu_usage_seconds_total counter'
  assert_output_contains 'kubevirt_vmi_memory_domain_bytes{name="web-1",namespace="production",node="demo-node"} 67108864'
  assert_output_contains 'kubevirt_vmi_storage_iops_read_total{drive="rootdisk",name="demo-vm",namespace="default",node="demo-node"}'
  printf '%s\n' "$output" | promtool check metrics
  # It leaves nothing behind.
  ! ls -d /tmp/kv-demo.* 2>/dev/null
  ! ip link show kvdemo0 2>/dev/null
}
