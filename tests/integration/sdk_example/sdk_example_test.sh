#!/usr/bin/env bash
# Proves that an integrator can build a plugin out of tree against the
# INSTALLED waflow SDK and that the daemon loads and uses it:
#   1. install the whole project (SDK headers + CMake package, waflow, plugins)
#      into a temporary prefix;
#   2. configure and build sdk/examples/ai-faq against that prefix only;
#   3. `waflow plugins` lists ai-faq as an AI plugin, `waflow validate` accepts
#      a config using it and rejects one missing its required key;
#   4. `waflow run` with the sandbox channel and ai-faq as the auto-reply AI
#      answers questions piped through `waflow chat` from the FAQ;
#   5. SIGTERM stops the daemon with exit code 0.
#
# Usage: sdk_example_test.sh <waflow build dir> <waflow source dir>
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 <waflow build dir> <waflow source dir>" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/waflow-sdk-example.XXXXXX")
prefix="$work/prefix"
example_build="$work/ai-faq-build"
daemon_pid=""

cleanup() {
  if [[ -n "$daemon_pid" ]] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -KILL "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

check() { echo "-- check: $*"; }
pass() { echo "   ok: $*"; }
fail() {
  echo "FAIL: $*" >&2
  if [[ -f "$work/daemon.log" ]]; then
    echo "---- daemon log ----" >&2
    cat "$work/daemon.log" >&2
  fi
  exit 1
}

# Only the directories named below may provide plugins.
unset WAFLOW_PLUGIN_PATH
cd "$work"  # no stray ./waflow.yaml is picked up

# 1. Install ----------------------------------------------------------------
check "cmake --install $build_dir --prefix <tmp>/prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log" >&2; fail "cmake --install failed"; }
for f in bin/waflow include/waflow/sdk/plugin.hpp include/waflow/sdk/abi.h \
  lib/waflow/plugins/waflow-plugin-channel-sandbox.so; do
  [[ -e "$prefix/$f" ]] || fail "the install lacks $f"
done
sdk_config=$(find "$prefix" -name waflow-sdkConfig.cmake -print -quit)
[[ -n "$sdk_config" ]] || fail "the install lacks waflow-sdkConfig.cmake"
pass "waflow, the SDK headers, its CMake package and the plugins are installed"

# 2. Build the example against the installed SDK ----------------------------
check "the example configures and builds against the installed SDK only"
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # The prefix is a new temporary directory each run: hash paths relative to it
  # so ccache can reuse the previous run's object (Release: no -g, no cwd hash).
  export CCACHE_BASEDIR="$work"
fi
cmake -S "$source_dir/sdk/examples/ai-faq" -B "$example_build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF "${launcher[@]}" >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log" >&2; fail "configuring the example failed"; }
found_dir=$(sed -n 's/^waflow-sdk_DIR:PATH=//p' "$example_build/CMakeCache.txt")
[[ "$found_dir" == "$prefix"/* ]] ||
  fail "find_package(waflow-sdk) found '$found_dir', not the package installed in $prefix"
cmake --build "$example_build" >"$work/build.log" 2>&1 ||
  { cat "$work/build.log" >&2; fail "building the example failed"; }
plugin_so="$example_build/waflow-plugin-ai-faq.so"
[[ -f "$plugin_so" ]] || fail "the build did not produce waflow-plugin-ai-faq.so"
# The compile line must take the SDK from the prefix, never from the source tree.
if grep -q -- "$source_dir/sdk/include" "$example_build/build.ninja"; then
  fail "the example was compiled with the SDK headers of the source tree"
fi
pass "built $plugin_so with the SDK from $found_dir"

# 3. The daemon sees it ------------------------------------------------------
waflow="$prefix/bin/waflow"
check "waflow plugins --plugin-dir <example build> lists ai-faq (kind ai)"
"$waflow" plugins --plugin-dir "$example_build" >"$work/plugins.txt" 2>&1 ||
  { cat "$work/plugins.txt" >&2; fail "waflow plugins exited with an error"; }
grep -q '^ai-faq  (ai plugin, version 1\.0\.0, ABI ' "$work/plugins.txt" ||
  { cat "$work/plugins.txt" >&2; fail "ai-faq is not listed as an ai plugin"; }
grep -qF "$plugin_so" "$work/plugins.txt" || fail "ai-faq was not loaded from $plugin_so"
grep -q '^    faq (array, required)' "$work/plugins.txt" ||
  { cat "$work/plugins.txt" >&2; fail "ai-faq's config schema (faq, required) is not shown"; }
if grep -q '^not loaded:' "$work/plugins.txt"; then
  cat "$work/plugins.txt" >&2
  fail "some plugin failed to load"
fi
pass "ai-faq is listed as an ai plugin with its config keys"

cat >"$work/waflow.yaml" <<'EOF'
server: { listen: 127.0.0.1:0 }
data_dir: ./data
channels:
  sandbox: { plugin: channel-sandbox }
ai:
  faq:
    plugin: ai-faq
    config:
      faq:
        - keywords: [harga, price]
          answer: "Paket A Rp100.000, Paket B Rp150.000."
        - keywords: [jam buka, opening hours]
          answer: "Kami buka Senin-Sabtu 08.00-20.00."
      fallback: "Maaf, belum ada jawaban untuk itu."
auto_reply: { mode: ai, ai: faq }
EOF

check "waflow validate accepts the config"
"$waflow" validate -c "$work/waflow.yaml" --plugin-dir "$example_build" >"$work/validate.txt" 2>&1 ||
  { cat "$work/validate.txt" >&2; fail "waflow validate rejected a valid config"; }
pass "valid"

check "waflow validate rejects an ai-faq config without 'faq', naming the key"
cat >"$work/bad.yaml" <<'EOF'
channels:
  sandbox: { plugin: channel-sandbox }
ai:
  helpdesk:
    plugin: ai-faq
    config:
      fallback: "nothing else"
EOF
if "$waflow" validate -c "$work/bad.yaml" --plugin-dir "$example_build" >"$work/bad.txt" 2>&1; then
  cat "$work/bad.txt" >&2
  fail "waflow validate accepted a config that lacks the required key 'faq'"
fi
grep -Eq "bad\.yaml:[0-9]+:[0-9]+: .*'faq'" "$work/bad.txt" ||
  { cat "$work/bad.txt" >&2; fail "the error does not point at bad.yaml:line:col and name 'faq'"; }
pass "rejected: $(grep -m1 -E 'bad\.yaml:[0-9]+:[0-9]+:' "$work/bad.txt")"

# 4. Run it --------------------------------------------------------------------
check "waflow run starts with ai-faq as the auto-reply AI"
"$waflow" run -c "$work/waflow.yaml" --listen 127.0.0.1:0 --plugin-dir "$example_build" \
  --log-level debug >"$work/daemon.log" 2>&1 &
daemon_pid=$!
port=""
for _ in $(seq 1 300); do
  port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$work/daemon.log" |
    head -n1)
  [[ -n "$port" ]] && break
  kill -0 "$daemon_pid" 2>/dev/null || fail "the daemon exited during startup"
  sleep 0.1
done
[[ -n "$port" ]] || fail "the daemon did not log 'listening on http://127.0.0.1:<port>' within 30 s"
pass "listening on port $port"

check "questions piped through waflow chat get the FAQ's answers"
printf '%s\n' "Berapa HARGA paketnya?" "Kapan jam buka toko?" "Saya sangat menghargai bantuannya" |
  "$waflow" chat --url "http://127.0.0.1:$port" --wait 10 >"$work/chat.txt" 2>&1 ||
  { cat "$work/chat.txt" >&2; fail "waflow chat exited with an error"; }
cat "$work/chat.txt"
grep -qF "bot> Paket A Rp100.000, Paket B Rp150.000." "$work/chat.txt" ||
  fail "the keyword 'harga' (written HARGA) did not get the price answer"
grep -qF "bot> Kami buka Senin-Sabtu 08.00-20.00." "$work/chat.txt" ||
  fail "the phrase 'jam buka' did not get the opening-hours answer"
grep -qF "bot> Maaf, belum ada jawaban untuk itu." "$work/chat.txt" ||
  fail "'menghargai' should not match 'harga' (whole words only) and get the fallback"
[[ $(grep -c '^bot> ' "$work/chat.txt") -eq 3 ]] || fail "expected exactly 3 replies"
grep -q "FAQ entry 0 matched on keyword 'harga'" "$work/daemon.log" ||
  fail "the plugin's host.debug() line did not reach the daemon's log"
pass "3 answers (keyword, phrase, fallback) and the plugin's debug log line"

# 5. Stop it -------------------------------------------------------------------
check "SIGTERM stops the daemon with exit code 0"
kill -TERM "$daemon_pid"
rc=0
wait "$daemon_pid" || rc=$?
daemon_pid=""
[[ $rc -eq 0 ]] || fail "the daemon exited with code $rc after SIGTERM"
pass "exit code 0"

echo "PASS: the ai-faq example builds against the installed SDK and runs in the daemon"
