#!/usr/bin/env bash
# Toolchain bootstrap: brings a bare machine to everything SwiftDeploy needs.
# Idempotent: a second run with everything present touches no network and
# takes well under 2 s. Everything project-local goes into .tools/ (gitignored).
#
#   build/bootstrap.sh            install what is missing
#   build/bootstrap.sh --check    only report what is missing (exit 1 if any)
#
# Whenever it finds nothing missing, it writes .tools/toolchain.stamp: what is
# installed, with versions. The launcher (./swiftdeploy) trusts a stamp newer
# than this script, build/tools/package.json, the deno and opa binaries and
# dpkg's status file, and runs no tool at all then (a few ms instead of ~60).
set -euo pipefail

DENO_VERSION="2.9.6"
OPA_VERSION="v1.22.2"
# libnginx-mod-http-lua (+ ndk, lua-resty-core, lua-resty-lrucache): nginx counts
# what clients receive at the edge, 502/504 of its own included (cli/edge/).
# docker-registry (Distribution 2.8): the swarm lab's registry (cli/lab/), run as
# `docker-registry serve CONFIG`; the policy-rc.d below keeps its service from starting.
# chromium: the dashboard's real-browser test (tests/dashboard_browser_test.ts, driven by
# playwright-core from npm, pinned in deno.json; no browser download of its own).
APT_PACKAGES=(docker.io nginx wrk busybox-static docker-compose prometheus
  libnginx-mod-http-lua libnginx-mod-http-ndk lua-resty-core lua-resty-lrucache
  docker-registry chromium)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
deno_bin="$tools/npm/node_modules/.bin/deno"
opa_bin="$tools/bin/opa"
stamp="$tools/toolchain.stamp"
check_only=0
[ "${1:-}" = "--check" ] && check_only=1

say() { printf 'bootstrap: %s\n' "$*" >&2; }
fail() {
  printf 'bootstrap: error: %s\n' "$1" >&2
  [ -n "${2:-}" ] && printf 'bootstrap: hint: %s\n' "$2" >&2
  exit 1
}

missing=()

# --- Debian packages -------------------------------------------------------
# One dpkg-query for all: "<package>\t<status>\t<version>" for each it knows.
apt_status="$(dpkg-query -W -f='${Package}\t${Status}\t${Version}\n' "${APT_PACKAGES[@]}" 2>/dev/null || true)"
apt_missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  grep -q -P "^\Q$pkg\E\tinstall ok installed\t" <<<"$apt_status" || apt_missing+=("$pkg")
done
if [ ${#apt_missing[@]} -gt 0 ]; then
  missing+=("debian packages: ${apt_missing[*]}")
fi

# --- Deno ------------------------------------------------------------------
deno_ok=0
deno_out="$([ -x "$deno_bin" ] && "$deno_bin" --version 2>/dev/null || true)"
if [[ "$deno_out" == "deno $DENO_VERSION "* ]]; then
  deno_ok=1
else
  missing+=("deno $DENO_VERSION")
fi

# --- OPA -------------------------------------------------------------------
opa_ok=0
# Capture first: with pipefail, `grep -q` quitting early would SIGPIPE opa and fail the check.
opa_out="$([ -x "$opa_bin" ] && "$opa_bin" version 2>/dev/null || true)"
if [[ "$opa_out" == *"Version: ${OPA_VERSION#v}"* ]]; then
  opa_ok=1
else
  missing+=("opa $OPA_VERSION")
fi

# What is installed, with versions; the launcher compares its age, never runs the tools.
write_stamp() {
  mkdir -p "$tools"
  {
    printf 'deno\t%s\n' "$DENO_VERSION"
    printf 'opa\t%s\n' "$OPA_VERSION"
    awk -F'\t' '$2 == "install ok installed" { printf "apt:%s\t%s\n", $1, $3 }' <<<"$apt_status" | sort
  } >"$stamp.tmp"
  mv -f "$stamp.tmp" "$stamp"
}

if [ ${#missing[@]} -eq 0 ]; then
  write_stamp
  exit 0
fi
rm -f "$stamp"
if [ $check_only -eq 1 ]; then
  for m in "${missing[@]}"; do say "missing: $m"; done
  exit 1
fi

if [ ${#apt_missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || fail "cannot install ${apt_missing[*]}: apt-get is not available" \
    "install them with the system's package manager"
  [ "$(id -u)" = 0 ] || fail "cannot install ${apt_missing[*]}: root is needed for apt-get" \
    "run: sudo apt-get install -y ${apt_missing[*]}"
  say "installing Debian packages: ${apt_missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || fail "apt-get update failed" "check that Debian's package mirror is reachable"
  # The nginx and docker-registry packages would start system services (nginx on port 80,
  # a registry on :5000); we only want the binaries.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null ||
    { rm -f /usr/sbin/policy-rc.d; fail "apt-get install ${apt_missing[*]} failed" "run it by hand to see why"; }
  rm -f /usr/sbin/policy-rc.d
fi

if [ $deno_ok -eq 0 ]; then
  command -v npm >/dev/null || fail "cannot install deno: npm is not available" "install Node.js and npm (Debian: apt-get install npm)"
  say "installing deno $DENO_VERSION from npm into .tools/npm"
  mkdir -p "$tools/npm"
  cp "$root/build/tools/package.json" "$tools/npm/"
  # The version is pinned exactly in package.json; a lock file would pin one platform's optional deps.
  (cd "$tools/npm" && npm install --no-package-lock --no-audit --no-fund --loglevel=error >/dev/null) ||
    fail "npm could not install deno $DENO_VERSION" "check that the npm registry is reachable"
  [ -x "$deno_bin" ] || fail "deno is missing after npm install" "remove .tools/npm and run build/bootstrap.sh again"
fi

if [ $opa_ok -eq 0 ]; then
  command -v go >/dev/null || fail "cannot build opa $OPA_VERSION: go is not installed" \
    "install Go 1.22+ (the Go module proxy must be reachable), or put an opa $OPA_VERSION binary at .tools/bin/opa"
  say "building opa $OPA_VERSION with go install (static, stripped; several minutes the first time)"
  mkdir -p "$tools/bin"
  CGO_ENABLED=0 GOBIN="$tools/bin" GOFLAGS=-mod=mod \
    go install -trimpath -ldflags "-s -w" "github.com/open-policy-agent/opa@$OPA_VERSION" ||
    fail "go install of opa $OPA_VERSION failed" "check that the Go module proxy is reachable"
fi
# Check again (it writes the stamp): an install that "succeeded" without the pinned versions fails here.
"$0" --check || fail "the toolchain is still incomplete after installing" "see the missing items above"
say "toolchain ready"
