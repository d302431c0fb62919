#!/usr/bin/env bash
# Builds licensed and licensectl, starts a standalone development node on loopback,
# issues a sample license, looks it up by the holder's ID number, verifies the
# ledger, and leaves the node running until Ctrl-C (or stops at once with --once).
set -euo pipefail
cd "$(dirname "$0")/.."
once=false
[ "${1:-}" = "--once" ] && once=true

scripts/deps.sh
echo "== building (the first build takes several minutes)"
swift build --product licensed
swift build --product licensectl
bin=$(swift build --show-bin-path)

data=$(mktemp -d "${TMPDIR:-/tmp}/licensed-quickstart.XXXXXX")
log="$data.log"
"$bin/licensed" --data-dir "$data/node" --province 440000 --admin-port 0 >"$log" 2>&1 &
node_pid=$!
stop() {
  kill -TERM "$node_pid" 2>/dev/null || true
  wait "$node_pid" 2>/dev/null || true
}
trap 'stop; exit 130' INT TERM
trap stop EXIT

# Wait for the node's "ready" line: bounded, and gives up at once if the node died.
for _ in $(seq 1 300); do
  grep -q '^ready' "$log" 2>/dev/null && break
  kill -0 "$node_pid" 2>/dev/null || { cat "$log"; echo "licensed failed to start" >&2; exit 1; }
  sleep 0.1
done
grep -q '^ready' "$log" || { cat "$log"; echo "licensed did not become ready" >&2; exit 1; }
grep -v '^20..-' "$log"

ctl() { "$bin/licensectl" "$1" --data-dir "$data/node" "${@:2}"; }
holder=44030419900307123X
echo
echo "== issue a driving licence to $holder"
id=$(ctl issue --type driving_licence --holder "$holder" --attr licence_class=C1 --attr first_issue_date=2012-07-01)
ctl show "$id"
echo
echo "== issue a business license to the same citizen"
ctl issue --type business_license --holder "$holder" --attr unified_social_credit_code=91440300MA5FXXXX0Y \
  --attr enterprise_name="深圳市示例科技有限公司" --attr enterprise_type=limited_liability_company \
  --attr business_scope="software development" >/dev/null
echo
echo "== one number: every license of the citizen (the lookup is audited)"
ctl holder "$holder" --purpose "quickstart demo"
echo
echo "== an invalid ID number is refused with the rule it breaks"
ctl holder 440304199002301232 --purpose "quickstart demo" || true
echo
echo "== node status"
ctl status
echo
echo "== offline re-verification of every signature and hash chain"
ctl verify-ledger
if $once; then
  echo
  echo "done; stopping the node"
  exit 0
fi
echo
echo "the node keeps running at $(cat "$data/node/admin.url"); try:"
echo "  $bin/licensectl status --data-dir $data/node"
echo "Ctrl-C stops it"
wait "$node_pid"
