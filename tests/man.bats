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

# render_man PAGE: the page as plain text on one column of 1000, without
# mandoc's overstriking (bold, underline).
render_man() {
  mandoc -T ascii -O width=1000 "$1" | sed 's/.\x08//g'
}

@test "kv-promfmt(1): every option the rendered page names outside EXAMPLES is one of --help's" {
  # A word after Fl becomes an option too: ".Pq with Fl -textfile only" reads "-only".
  run kv-promfmt --help
  assert_success
  grep -oE -- '(^|[ ,])--?[a-z][a-z0-9-]*' <<<"$output" | sed 's/^[ ,]*//' | sort -u >"$TEST_TMP/help"
  render_man "$KV_ROOT/man/kv-promfmt.1" | sed '/^EXAMPLES$/,/^SEE ALSO$/d' |
    grep -oE -- '(^|[[:space:]([|])--?[a-zA-Z][a-zA-Z0-9-]*' | sed 's/^[[:space:]([|]*//' | sort -u >"$TEST_TMP/man"
  [ -s "$TEST_TMP/help" ] && [ -s "$TEST_TMP/man" ]
  run comm -13 "$TEST_TMP/help" "$TEST_TMP/man"
  [ -z "$output" ] || flunk "the rendered kv-promfmt(1) names options that --help does not have:"$'\n'"$output"
}

@test "kv-promfmt(1): every example renders as written, so that it can be pasted" {
  # mdoc takes a lone trailing "." or "," for punctuation: ".Dl ... | jq ." reads "jq.".
  sed -n '/^\.Sh EXAMPLES$/,/^\.Sh /p' "$KV_ROOT/man/kv-promfmt.1" |
    awk '/^\.Bd -literal/ { lit = 1; next } /^\.Ed$/ { lit = 0; next } lit { print; next } sub(/^\.Dl /, "")' |
    sed 's/\\&//g; s/\\e/\\/g; s/^ *//' >"$TEST_TMP/examples"
  [ "$(wc -l <"$TEST_TMP/examples")" -ge 8 ] || flunk "few examples found: $(cat "$TEST_TMP/examples")"
  render_man "$KV_ROOT/man/kv-promfmt.1" | sed -n '/^EXAMPLES$/,/^SEE ALSO$/p' | sed 's/^ *//' >"$TEST_TMP/rendered"
  local line missing=""
  while IFS= read -r line; do
    grep -qxF -- "$line" "$TEST_TMP/rendered" || missing+="$line"$'\n'
  done <"$TEST_TMP/examples"
  [ -z "$missing" ] || flunk "these examples do not render as written:"$'\n'"$missing"
}
