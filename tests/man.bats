#!/usr/bin/env bats
# The man pages: lint-clean, in step with --help, and their examples run.

setup() {
  load helpers/common
  common_setup
}

teardown() {
  common_teardown
}

@test "mandoc -T lint is clean on every page" {
  local page
  for page in "$KV_ROOT"/man/*.[1-9]; do
    run mandoc -T lint -W warning "$page"
    [ "$status" -eq 0 ] && [ -z "$output" ] || flunk "$page: $output"
  done
}

@test "every long option of --help is in the man page, and the other way round" {
  run "$KV_ROOT/tests/helpers/check-help-vs-man" "$KV_BUILD/bin" kv-promfmt kv-domstats kv-watch kv-rulesgen
  assert_success
}

@test "the check of --help against the man page fails on a difference" {
  mkdir -p "$TEST_TMP/bin"
  printf '#!/bin/sh\necho "  --only-in-help  x"\n' >"$TEST_TMP/bin/kv-promfmt"
  chmod +x "$TEST_TMP/bin/kv-promfmt"
  run "$KV_ROOT/tests/helpers/check-help-vs-man" "$TEST_TMP/bin" kv-promfmt
  assert_status 1
  assert_output_contains "< --only-in-help"
}

# man_example FILE CASE: the example "$ cat FILE ... $ kv-promfmt FILE ..."
# of kv-sample(5) is the golden case CASE.
man_example() {
  local case="$KV_ROOT/tests/cases/kv-promfmt/$2"
  sed -n "/^\\\$ cat $1\$/,/^\\\$ kv-promfmt/p" "$KV_ROOT/man/kv-sample.5" | sed '1d;$d' >"$TEST_TMP/input"
  sed -n "/^\\\$ kv-promfmt $1\$/,/^\\.Ed\$/p" "$KV_ROOT/man/kv-sample.5" | sed '1d;$d' >"$TEST_TMP/output"
  [ -s "$TEST_TMP/input" ] && [ -s "$TEST_TMP/output" ]
  assert_file_equals "$case/input.ndjson" "$TEST_TMP/input"
  assert_file_equals "$case/expected.out" "$TEST_TMP/output"
}

@test "the example in kv-sample(5) is the golden case man-kv-sample-example" {
  man_example vms.ndjson man-kv-sample-example
}

@test "the histogram example in kv-sample(5) is the golden case man-kv-sample-histogram" {
  man_example phases.ndjson man-kv-sample-histogram
}
