#!/usr/bin/env bash
# Data-parallel training across two "hosts": two network namespaces joined by a veth pair
# (10.9.0.1 and 10.9.0.2), rank 0 in one with the spec and the run store, rank 1 in the other
# started with only the rendezvous, as README's two-host example. Needs root and iproute2.
# Usage: tests/distributed/two_hosts.sh [BUILD_DIR]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
cli="$build/app/quantscape-cli"
work=$(mktemp -d)
ns_a=qs-host-a-$$ ns_b=qs-host-b-$$
cleanup() {
  ip netns del "$ns_a" 2>/dev/null || true
  ip netns del "$ns_b" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$ns_a"
ip netns add "$ns_b"
ip link add "veth-a-$$" type veth peer name "veth-b-$$"
ip link set "veth-a-$$" netns "$ns_a"
ip link set "veth-b-$$" netns "$ns_b"
ip -n "$ns_a" addr add 10.9.0.1/24 dev "veth-a-$$"
ip -n "$ns_b" addr add 10.9.0.2/24 dev "veth-b-$$"
for ns in "$ns_a" "$ns_b"; do
  ip -n "$ns" link set lo up
done
ip -n "$ns_a" link set "veth-a-$$" up
ip -n "$ns_b" link set "veth-b-$$" up

# Rank 0 ("node-a"): the smoke preset on 512 Fashion-MNIST images, recorded in its store.
ip netns exec "$ns_a" "$cli" train --preset smoke --set data.train_limit=512 \
  --set data.test_limit=200 --db "$work/runs.sqlite" --out "$work/out" --threads 1 \
  --rank 0 --world-size 2 --master-addr 10.9.0.1 --master-port 29500 \
  >"$work/rank0.out" 2>"$work/rank0.err" &
rank0=$!
# Rank 1 ("node-b"): only the rendezvous; it takes the spec from rank 0.
GLOO_SOCKET_IFNAME="veth-b-$$" ip netns exec "$ns_b" "$cli" train --rank 1 --world-size 2 \
  --master-addr 10.9.0.1 --master-port 29500 --threads 1 --connect-timeout 30 2>"$work/rank1.err"
wait "$rank0"
cat "$work/rank0.out"
grep -q "finished" "$work/rank0.out"
grep -q "\[rank 1\] epoch 1/1" "$work/rank1.err"
processes=$("$cli" runs show 1 --json --db "$work/runs.sqlite" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["distributed"]["processes"])' ||
  echo "?")
[ "$processes" = 2 ]
echo "two hosts: rank 0 on 10.9.0.1 and rank 1 on 10.9.0.2 finished; recorded world size: $processes"
