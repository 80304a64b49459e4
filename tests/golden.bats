#!/usr/bin/env bats
# Golden cases (tests/cases/<tool>/<case>/) and the lints of every expected
# exposition: promtool for Prometheus text, a strict parser for OpenMetrics.

setup() {
  load helpers/common
  common_setup
}

teardown() {
  common_teardown
}

# Splits a stdout of several snapshots into one file per exposition: a
# family seen again starts a new one (text), "# EOF" ends one (OpenMetrics).
split_expositions() {  # file outdir
  awk -v dir="$2" '
    BEGIN { n = 1 }
    /^# (HELP|TYPE) / { k = $2 " " $3; if ((k in seen) && !om) { n++; delete seen } seen[k] = 1 }
    { print > (dir "/" n ".txt") }
    /^# EOF$/ { om = 1; close(dir "/" n ".txt"); n++; delete seen }
  ' "$1"
}

@test "golden cases: each tool's stdout, stderr and exit status are exactly as expected" {
  run "$KV_ROOT/tests/run-golden"
  echo "$output"
  assert_success
  assert_output_contains "0 failed"
}

@test "every expected Prometheus text passes promtool check metrics" {
  local n=0 c
  for c in "$KV_ROOT"/tests/cases/kv-promfmt/*/; do
    grep -q -e openmetrics -e otlp-json "$c/args" && continue  # OTLP: tests/kv-promfmt-otlp.bats
    [ -s "$c/expected.out" ] || continue
    mkdir -p "$TEST_TMP/$(basename "$c")"
    split_expositions "$c/expected.out" "$TEST_TMP/$(basename "$c")"
    for f in "$TEST_TMP/$(basename "$c")"/*.txt; do
      run promtool check metrics <"$f"
      [ "$status" -eq 0 ] || flunk "$c ($f): $output"
      n=$((n + 1))
    done
  done
  [ "$n" -ge 8 ] || flunk "only $n expositions linted"
}

@test "every expected OpenMetrics text parses with the strict OpenMetrics parser" {
  local n=0 c
  for c in "$KV_ROOT"/tests/cases/kv-promfmt/*/; do
    grep -q openmetrics "$c/args" || continue
    run "$KV_ROOT/tests/helpers/check-openmetrics" "$c/expected.out"
    [ "$status" -eq 0 ] || flunk "$c: $output"
    n=$((n + 1))
  done
  [ "$n" -ge 4 ] || flunk "only $n OpenMetrics cases"
}

@test "every expected sample stream of a producer becomes an exposition promtool accepts" {
  local n=0 c
  local f
  for c in "$KV_ROOT"/tests/cases/kv-domstats/*/; do
    # One exposition per snapshot: promtool takes one scrape at a time.
    rm -f "$TEST_TMP"/snap.*
    awk -v d="$TEST_TMP" '{ print > (d "/snap." n + 0) } /^\{"end":/ { close(d "/snap." n + 0); n++ }' "$c/expected.out"
    for f in "$TEST_TMP"/snap.*; do
      run bash -c "kv-promfmt <'$f' | promtool check metrics"
      [ "$status" -eq 0 ] || flunk "$c ($(basename "$f")): $output"
    done
    n=$((n + 1))
  done
  [ "$n" -ge 2 ] || flunk "only $n producer cases"
}

@test "the lints catch what they should (a broken exposition fails them)" {
  printf '# TYPE a gauge\na{l="x} 1\n' >"$TEST_TMP/bad.txt"
  run promtool check metrics <"$TEST_TMP/bad.txt"
  [ "$status" -ne 0 ]
  printf '# TYPE a gauge\na 1\n' >"$TEST_TMP/no-eof.txt"
  run "$KV_ROOT/tests/helpers/check-openmetrics" "$TEST_TMP/no-eof.txt"
  [ "$status" -ne 0 ]
}
