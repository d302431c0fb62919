#!/usr/bin/env bash
# Builds licensed and licensectl, writes a local network of three provinces (Guangdong,
# Beijing, Shanghai, in a line gd – bj – sh) with a generated network CA, national root
# and node keys, starts the three nodes on loopback, issues licenses in each province,
# shows them converge, and shows cross-province recognition decisions: online, under a
# published agreement, and offline from an exported bundle. The nodes keep running until
# Ctrl-C (or stop at once with --once); every process started here is stopped by PID.
#
#   scripts/quickstart.sh [--once] [--base-port P]     (default 7400: ports P..P+5)
set -euo pipefail
cd "$(dirname "$0")/.."
once=false
base=7400
while [ $# -gt 0 ]; do
  case "$1" in
    --once) once=true ;;
    --base-port) base="$2"; shift ;;
    *) echo "usage: scripts/quickstart.sh [--once] [--base-port P]" >&2; exit 2 ;;
  esac
  shift
done

scripts/deps.sh
echo "== building (the first build takes several minutes)"
swift build --product licensed
swift build --product licensectl
bin=$(swift build --show-bin-path)

net=$(mktemp -d "${TMPDIR:-/tmp}/licensed-quickstart.XXXXXX")
rmdir "$net"
echo
echo "== a network of three provinces: CA, national root, keys, certificates, configs"
"$bin/licensectl" testnet --provinces 440000,110000,310000 --out "$net" --topology line --base-port "$base"

pids=()
stop() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap 'stop; exit 130' INT TERM
trap stop EXIT

nodes=(gd bj sh)
for node in "${nodes[@]}"; do
  "$bin/licensed" check-config --config "$net/$node/config.json" >/dev/null
  "$bin/licensed" --config "$net/$node/config.json" >"$net/$node.log" 2>&1 &
  pids+=($!)
done
# Wait for each node's "ready" line: bounded, and gives up at once if a node died.
for i in 0 1 2; do
  node=${nodes[$i]}
  for _ in $(seq 1 300); do
    grep -q '^ready' "$net/$node.log" 2>/dev/null && break
    kill -0 "${pids[$i]}" 2>/dev/null || { cat "$net/$node.log"; echo "licensed $node failed to start" >&2; exit 1; }
    sleep 0.1
  done
  grep -q '^ready' "$net/$node.log" || { cat "$net/$node.log"; echo "licensed $node did not become ready" >&2; exit 1; }
  echo "  $node started (pid ${pids[$i]}), admin API $(cat "$net/$node/data/admin.url")"
done

ctl() { local node=$1; shift; "$bin/licensectl" "$@" --data-dir "$net/$node/data"; }
holder=44030419900307123X
echo
echo "== each province issues a license to citizen $holder"
driving=$(ctl gd issue --type driving_licence --holder "$holder" --attr licence_class=C1 --attr first_issue_date=2012-07-01)
echo "  gd (Guangdong) issued driving licence $driving"
business=$(ctl bj issue --type business_license --holder "$holder" --attr unified_social_credit_code=91110105MA00XXXX0Y \
  --attr enterprise_name="北京示例科技有限公司" --attr enterprise_type=limited_liability_company \
  --attr business_scope="software development")
echo "  bj (Beijing) issued business license $business"
permit=$(ctl sh issue --type residence_permit --holder "$holder" --attr city=上海 --attr address="1 Century Avenue")
echo "  sh (Shanghai) issued residence permit $permit"

echo
echo "== the network converges (gd and sh never connect: bj relays)"
converged=false
for _ in $(seq 1 300); do
  digests=$(for node in "${nodes[@]}"; do ctl "$node" status --json | grep -o '"ledger_digest" : "[0-9a-f]*"'; done | sort -u | wc -l)
  entries=$(for node in "${nodes[@]}"; do ctl "$node" status --json | grep -o '"entries" : [0-9]*'; done | sort -u)
  if [ "$digests" = 1 ] && [ "$entries" = '"entries" : 3' ]; then converged=true; break; fi
  sleep 0.1
done
$converged || { echo "the network did not converge" >&2; exit 1; }
for node in "${nodes[@]}"; do
  echo "  $node: $(ctl "$node" status --json | grep -o '"ledger_digest" : "[0-9a-f]*"')"
done

echo
echo "== one window: Shanghai's counter sees every province's licenses, with its decision on each"
ctl sh holder "$holder" --purpose "quickstart demo" --recognize

echo
echo "== Beijing publishes an agreement: from Guangdong it accepts business licenses only"
ctl bj agreements set --accept '*:*' --accept '440000:business_license'
# The agreement is an entry of bj's ledger: wait until it has reached Shanghai too.
for _ in $(seq 1 300); do
  ctl sh status --json | grep -q '"entries" : 4' && break
  sleep 0.1
done
echo
echo "== Beijing decides on Guangdong's driving licence, check by check (exit status 3: not recognized)"
ctl bj verify "$driving" --purpose "quickstart demo" || true
echo
echo "== Shanghai recognizes it"
ctl sh verify "$driving" --purpose "quickstart demo"

echo
echo "== offline: export the licence's bundle and verify it with the root key alone, as Beijing"
ctl sh export "$driving" --out "$net/driving.bundle.json"
"$bin/licensectl" verify --offline "$net/driving.bundle.json" --root "$net/root/root.pub" --as 110000 || true

if $once; then
  echo
  echo "done; stopping the nodes"
  exit 0
fi
echo
echo "the nodes keep running (network in $net); try:"
echo "  $bin/licensectl status --data-dir $net/sh/data"
echo "  $bin/licensectl agreements --data-dir $net/gd/data"
echo "Ctrl-C stops them"
wait
