#!/usr/bin/env bash
# Installs the Debian packages the build needs, when they are missing.
# Sourced by quickstart.sh and test.sh; safe to run again. The tests use three tools
# from them: systemd-analyze (systemd) verifies deploy/licensed.service, promtool
# (prometheus) checks the /metrics output, and headless chromium loads the status page.
set -euo pipefail
needed=(libsodium-dev libsqlite3-dev libssl-dev pkg-config systemd prometheus chromium)
missing=()
for package in "${needed[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
