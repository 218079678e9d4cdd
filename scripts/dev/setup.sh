#!/usr/bin/env bash
# Installs every Debian package that waflow's build, tests and benchmarks need.
# Idempotent: packages already present are skipped, and apt-get is only called
# when something is missing. Run as root (or with sudo) on Debian 12.
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config git
  # Boost 1.81 (not Debian's default 1.74): Asio, Beast, DLL, URL, filesystem
  libboost1.81-dev libboost-filesystem1.81-dev libboost-url1.81-dev
  # outbound HTTP, TLS, hashing
  libcurl4-openssl-dev libssl-dev
  # config, JSON, logging, command line
  libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  # storage and rules (used by later parts of the tree)
  libsqlite3-dev liblua5.4-dev
  # user-written regexes (flow triggers, conditions, answer validation): linear time, no recursion
  libre2-dev
  # fast JSON parsing on the webhook path (channel plugins)
  libsimdjson-dev
  # the daemon's memory allocator (many small allocations on many threads)
  libjemalloc-dev
  # tests and benchmarks (python3-jsonschema: editors' view of docs/schema/flow.schema.json)
  libgtest-dev libgmock-dev wrk curl procps python3 python3-jsonschema
  # fuzzing (scripts/dev/fuzz.sh): clang's libFuzzer and sanitizer runtimes
  clang libclang-rt-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
