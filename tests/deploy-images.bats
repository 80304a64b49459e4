#!/usr/bin/env bats
# deploy/images/Containerfile, without a container engine: two linters, the
# runtime package lists against the libraries the shipped binaries link,
# and the build stage run as it is outside a container.
#
# KV_CONTAINERFILE names another Containerfile to check (to see a test fail
# on a broken copy).

setup_file() {
  load helpers/common
  export CONTAINERFILE="${KV_CONTAINERFILE:-$KV_ROOT/deploy/images/Containerfile}"
  export IMG_TMP
  IMG_TMP="$(mktemp -d "${BATS_TMPDIR:-/tmp}/kv-images.XXXXXX")"
  # The build stage's make command, into a DESTDIR of our own (the build
  # tree is the one the suite built; nothing is compiled when it is current).
  local make_line
  make_line="$(stage_lines build | sed -n 's/^RUN \(make .*\)$/\1/p')"
  echo "$make_line" >"$IMG_TMP/make-line"
  local version
  version="$(make_var VERSION)"
  (cd "$KV_ROOT" && VERSION="$version" eval "${make_line//DESTDIR=\/out/DESTDIR=$IMG_TMP/out}" BUILD="$KV_BUILD") \
    >"$IMG_TMP/make.log" 2>&1 && echo 0 >"$IMG_TMP/make.rc" || echo $? >"$IMG_TMP/make.rc"
}

teardown_file() {
  rm -rf "$IMG_TMP"
}

setup() {
  load helpers/common
  common_setup
}

teardown() {
  common_teardown
}

IMAGES=(central-collector node-collector rulesgen)

# The value of a variable of the Makefile.
make_var() {  # NAME
  # shellcheck disable=SC2016  # $(...) is make's
  make -s -C "$KV_ROOT" --eval 'print-var: ; @echo $('"$1"')' print-var
}

# The instructions of one stage (FROM ... AS NAME up to the next FROM), one
# a line, continuation lines joined, comments left out.
stage_lines() {  # NAME
  awk -v stage="$1" '
    /^[ \t]*#/ { next }
    { if (sub(/\\[ \t]*$/, "")) { buf = buf $0 " "; next } line = buf $0; buf = "" }
    line ~ /^FROM / { n = split(line, w, " "); current = (n >= 4 && tolower(w[3]) == "as") ? w[4] : "" }
    current == stage && line !~ /^[ \t]*$/ { gsub(/[ \t]+/, " ", line); print line }
  ' "$CONTAINERFILE"
}

# The packages the stage's RUN installs with apt-get, one a line.
stage_packages() {  # NAME
  stage_lines "$1" | grep -o 'apt-get install [^&]*' | tr ' ' '\n' |
    grep -v -e '^apt-get$' -e '^install$' -e '^-' -e '^$' | sort -u
}

# The files the stage copies from the build stage, one a line (/out/...).
stage_copies() {  # NAME
  stage_lines "$1" | awk '$1 == "COPY" && $2 == "--from=build" { for (i = 3; i < NF; i++) print $i }'
}

# The Debian packages owning shared libraries, as "PATH PACKAGE" lines, one
# for each PATH given; whichever name of the file dpkg recorded (symlink or
# target, /lib or /usr/lib since usrmerge). One dpkg -S for all: each scans
# the whole database.
packages_of() {  # PATH...
  local -A owner=()
  local path line v
  local -a names=()
  for path in "$@"; do mapfile -t -O "${#names[@]}" names < <(name_variants "$path"); done
  while IFS= read -r line; do
    [[ "$line" == diversion* ]] || owner[${line#*: }]=${line%%:*}
  done < <(dpkg -S "${names[@]}" 2>/dev/null || true)
  for path in "$@"; do
    for v in $(name_variants "$path"); do
      if [ -n "${owner[$v]:-}" ]; then echo "$path ${owner[$v]}"; continue 2; fi
    done
    echo "$path (no package)"
  done
}

name_variants() {  # PATH
  local real
  real="$(readlink -f "$1")"
  printf '%s\n' "$1" "$real" "${1#/usr}" "/usr${1#/usr}" "${real#/usr}" "/usr${real#/usr}" | sort -u
}

@test "images: both Dockerfile linters find nothing (dockerfile-utils: syntax and instructions; dockerfilelint: practices)" {
  local modules
  modules="$(npm_linters "$KV_BUILD/npm/containerfile-lint")"
  run "$modules/.bin/dockerfile-utils" lint "$CONTAINERFILE"
  assert_success
  [ -z "$output" ] || flunk "dockerfile-utils: $output"
  run "$modules/.bin/dockerfilelint" "$CONTAINERFILE"
  assert_success
  assert_output_contains "Issues: None found"
}

# Installs the two linters with npm, once per version, into DIR (under the
# build directory, as helpers/otlp-receiver-setup does); prints the
# node_modules directory.
npm_linters() {  # DIR
  local dir="$1" want="dockerfile-utils@0.16.3 dockerfilelint@1.8.0"
  mkdir -p "$dir"
  (
    flock 9
    if [ "$(cat "$dir/installed" 2>/dev/null)" != "$want" ]; then
      # shellcheck disable=SC2086  # two package specs
      npm install --no-save --no-audit --no-fund --no-package-lock --ignore-scripts \
        --loglevel=error --prefix "$dir" $want >&2
      echo "$want" >"$dir/installed"
    fi
  ) 9>"$dir/.lock"
  echo "$dir/node_modules"
}

@test "images: every stage is from Debian 12 (slim at run time), runs as 65532, cleans apt lists, has its entrypoint and labels" {
  run stage_lines build
  assert_output_contains "FROM debian:12 AS build"
  local image line
  for image in "${IMAGES[@]}"; do
    run stage_lines "$image"
    [ "${lines[0]}" = "FROM debian:12-slim AS $image" ] || flunk "$image: ${lines[0]}"
    assert_output_contains "USER 65532:65532"
    assert_output_contains 'rm -rf /var/lib/apt/lists/*'
    assert_output_contains "--no-install-recommends"
    assert_output_contains "useradd --uid 65532 --gid 65532"
    local label
    for label in title description version revision base.name; do
      assert_output_contains "org.opencontainers.image.$label="
    done
    line="$(printf '%s\n' "${lines[@]}" | grep '^ENTRYPOINT ')"
    [[ "$line" =~ ^ENTRYPOINT\ \[\"(/usr/local/bin/[a-z-]+)\"\]$ ]] || flunk "$image: not an exec-form entrypoint: $line"
    # The entrypoint is among the files the stage copies.
    stage_copies "$image" | grep -qx "/out${BASH_REMATCH[1]}" || flunk "$image: ${BASH_REMATCH[1]} is not copied"
  done
  # The ports are the entrypoints' defaults.
  [ "$(stage_lines central-collector | grep '^EXPOSE')" = "EXPOSE 8080" ]
  [ "$(stage_lines node-collector | grep '^EXPOSE')" = "EXPOSE 9090" ]
  run stage_lines rulesgen
  refute_output_contains "EXPOSE"
}

@test "images: each runtime stage installs exactly the packages of the libraries its binaries link, and ldd finds nothing missing" {
  [ "$(cat "$IMG_TMP/make.rc")" = 0 ] || flunk "the build stage's make failed: $(cat "$IMG_TMP/make.log")"
  local image file bin lib path pkg bad=0
  for image in "${IMAGES[@]}"; do
    stage_packages "$image" >"$TEST_TMP/$image.listed"
    : >"$TEST_TMP/$image.direct-libs"
    : >"$TEST_TMP/$image.all-libs"
    local nbins=0
    for file in $(stage_copies "$image"); do
      bin="$IMG_TMP$file"
      [ "$(head -c 4 "$bin" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ] || continue
      nbins=$((nbins + 1))
      ldd "$bin" >"$TEST_TMP/ldd"
      if grep "not found" "$TEST_TMP/ldd" >&2; then flunk "$image: $file: libraries not found"; fi
      # Every library the binary needs, directly or not.
      awk '$2 == "=>" && $3 ~ /^\// { print $3 }' "$TEST_TMP/ldd" >>"$TEST_TMP/$image.all-libs"
      # The libraries it links itself (DT_NEEDED), found where ldd found them.
      for lib in $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        path="$(awk -v l="$lib" '$1 == l && $2 == "=>" { print $3 }' "$TEST_TMP/ldd")"
        [ -n "$path" ] || flunk "$image: $file: ldd does not resolve $lib"
        echo "$path" >>"$TEST_TMP/$image.direct-libs"
      done
    done
    [ "$nbins" -gt 0 ] || flunk "$image: no binary among the copied files"
    # shellcheck disable=SC2046  # file names without blanks
    packages_of $(sort -u "$TEST_TMP/$image.all-libs") >"$TEST_TMP/$image.owners"
    if grep '(no package)' "$TEST_TMP/$image.owners" >&2; then flunk "$image: libraries of no package"; fi
    awk '{ print $2 }' "$TEST_TMP/$image.owners" | sort -u >"$TEST_TMP/$image.all"
    # shellcheck disable=SC2046
    packages_of $(sort -u "$TEST_TMP/$image.direct-libs") | awk '{ print $2 }' | sort -u >"$TEST_TMP/$image.direct"
    # The list is those of the directly linked libraries, plus the CA
    # certificates where libcurl is linked (TLS to collectors, the API).
    cp "$TEST_TMP/$image.direct" "$TEST_TMP/$image.want"
    if grep -qx libcurl4 "$TEST_TMP/$image.direct"; then
      echo ca-certificates >>"$TEST_TMP/$image.want"
      sort -u -o "$TEST_TMP/$image.want" "$TEST_TMP/$image.want"
    fi
    if ! diff -u "$TEST_TMP/$image.want" "$TEST_TMP/$image.listed" >"$TEST_TMP/diff"; then
      echo "$image: the apt-get install line differs from what its binaries link (- missing, + unneeded):" >&2
      cat "$TEST_TMP/diff" >&2
      bad=1
    fi
    # Whatever they need indirectly comes along through the Depends of the
    # listed packages.
    # shellcheck disable=SC2046  # a list of package names
    apt-cache depends --recurse --installed --no-recommends --no-suggests --no-conflicts \
      --no-breaks --no-replaces --no-enhances $(cat "$TEST_TMP/$image.listed") |
      grep -v '^ ' | sort -u >"$TEST_TMP/$image.closure"
    for pkg in $(comm -23 "$TEST_TMP/$image.all" "$TEST_TMP/$image.closure"); do
      echo "$image: $pkg (a library ldd resolves) is neither listed nor a dependency of a listed package" >&2
      bad=1
    done
  done
  [ "$bad" = 0 ]
}

@test "images: the build stage installs the Makefile's DEPS_BUILD and runs make install; what the runtime stages copy is installed" {
  # The same packages as the Makefile's build dependencies.
  make_var DEPS_BUILD | tr ' ' '\n' | grep . | sort -u >"$TEST_TMP/deps"
  stage_packages build >"$TEST_TMP/listed"
  assert_file_equals "$TEST_TMP/deps" "$TEST_TMP/listed"
  # The make command: make install into /out, as setup_file ran it here.
  run cat "$IMG_TMP/make-line"
  [[ "$output" =~ ^make\ .*\ install\ .*DESTDIR=/out ]] || flunk "the build stage runs no make install into /out: $output"
  assert_output_contains "PREFIX=/usr/local"
  [ "$(cat "$IMG_TMP/make.rc")" = 0 ] || flunk "$(cat "$IMG_TMP/make-line") failed: $(cat "$IMG_TMP/make.log")"
  local image file
  for image in "${IMAGES[@]}"; do
    for file in $(stage_copies "$image"); do
      [ -e "$IMG_TMP$file" ] || flunk "$image copies $file, which make install did not install"
    done
  done
  # The build context leaves out the host's build tree.
  grep -qx '/build' "$KV_ROOT/.dockerignore"
}

@test "images: installed as the images have them, the entrypoints find their functions and kv-rulesgen its rules" {
  [ "$(cat "$IMG_TMP/make.rc")" = 0 ] || flunk "the build stage's make failed"
  local bin="$IMG_TMP/out/usr/local/bin" entrypoint
  for entrypoint in kv-central-collector kv-node-collector kv-textfile-collector; do
    run "$bin/$entrypoint" --help
    assert_success
    assert_output_contains "Usage: $entrypoint"
  done
  run "$bin/kv-rulesgen" --kubevirt-version v1.6 --format rulefile
  assert_success
  assert_output_contains "groups:"
}

@test "images: make images builds the three targets with the engine given, tagged for quay.io/kv-monitoring" {
  cat >"$TEST_TMP/engine" <<EOF
#!/bin/sh
echo "\$*" >>"$TEST_TMP/engine.log"
EOF
  chmod +x "$TEST_TMP/engine"
  run make -s -C "$KV_ROOT" images CONTAINER_ENGINE="$TEST_TMP/engine" IMAGE_TAG=t1
  assert_success
  run cat "$TEST_TMP/engine.log"
  [ "${#lines[@]}" = 3 ]
  local image i=0
  for image in "${IMAGES[@]}"; do
    [[ "${lines[i]}" == "build -f deploy/images/Containerfile --target $image "*" -t quay.io/kv-monitoring/$image:t1 ." ]] ||
      flunk "unexpected: ${lines[i]}"
    i=$((i + 1))
  done
}
