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

# options_named_outside_examples TOOL: each option its rendered page names
# outside EXAMPLES that --help does not have, one a line.
options_named_outside_examples() {
  local tool="$1"
  # A word after Fl becomes an option too: ".Pq with Fl -textfile only" reads "-only".
  "$tool" --help | grep -oE -- '(^|[ ,])--?[a-z][a-z0-9-]*' | sed 's/^[ ,]*//' | sort -u >"$TEST_TMP/help"
  # Other tools' command lines quoted in the text name their own options.
  render_man "$KV_ROOT/man/$tool.1" | sed '/^EXAMPLES$/,/^SEE ALSO$/d' | sed "s/\`kubectl [^']*'//g" |
    grep -oE -- '(^|[[:space:]([|])--?[a-zA-Z][a-zA-Z0-9-]*' | sed 's/^[[:space:]([|]*//' | sort -u >"$TEST_TMP/man"
  [ -s "$TEST_TMP/help" ] && [ -s "$TEST_TMP/man" ] || echo "(nothing read for $tool)"
  comm -13 "$TEST_TMP/help" "$TEST_TMP/man"
}

# examples_not_rendered_as_written PAGE: each example line of EXAMPLES that
# the rendered page does not show as written, one a line.
examples_not_rendered_as_written() {
  local page="$KV_ROOT/man/$1" line
  # mdoc takes a lone trailing "." or "," for punctuation: ".Dl ... | jq ." reads "jq.".
  sed -n '/^\.Sh EXAMPLES$/,/^\.Sh /p' "$page" |
    awk '/^\.Bd -literal/ { lit = 1; next } /^\.Ed$/ { lit = 0; next } lit { print; next } sub(/^\.Dl /, "")' |
    sed 's/\\&//g; s/\\e/\\/g; s/^ *//' >"$TEST_TMP/examples"
  [ -s "$TEST_TMP/examples" ] || echo "(no examples found in $1)"
  render_man "$page" | sed -n '/^EXAMPLES$/,/^SEE ALSO$/p' | sed 's/^ *//' >"$TEST_TMP/rendered"
  while IFS= read -r line; do
    grep -qxF -- "$line" "$TEST_TMP/rendered" || echo "$line"
  done <"$TEST_TMP/examples"
}

@test "every option a tool's rendered page names outside EXAMPLES is one of its --help's" {
  local tool bad=""
  for tool in kv-promfmt kv-domstats kv-watch kv-rulesgen; do
    run options_named_outside_examples "$tool"
    [ -z "$output" ] || bad+="$tool(1): $output"$'\n'
  done
  [ -z "$bad" ] || flunk "options in the rendered pages that --help does not have:"$'\n'"$bad"
}

@test "every example of every page renders as written, so that it can be pasted" {
  local page bad=""
  for page in kv-promfmt.1 kv-domstats.1 kv-watch.1 kv-rulesgen.1 kv-sample.5; do
    run examples_not_rendered_as_written "$page"
    [ -z "$output" ] || bad+="$page: $output"$'\n'
  done
  [ -z "$bad" ] || flunk "examples that do not render as written:"$'\n'"$bad"
}
