#!/usr/bin/env bash
# Starts a Redis Cluster of three primaries on 127.0.0.1:7000-7002 (no replicas, nothing on disk) for
# the suites that run the redis driver on a cluster (test/e2e/cross-node). Does nothing when a
# cluster already answers there. Usage: bash .ci/redis-cluster.sh
set -euo pipefail
ports=(7000 7001 7002)
dir=${REDIS_CLUSTER_DIR:-/tmp/nestjs-broadcasting-redis-cluster}

state() { redis-cli -p "${ports[0]}" cluster info 2>/dev/null | tr -d '\r' | sed -n 's/^cluster_state://p'; }

if [[ "$(state)" == ok ]]; then echo "redis cluster: ok on 127.0.0.1:${ports[0]}-${ports[-1]}"; exit 0; fi
mkdir -p "$dir"
for p in "${ports[@]}"; do
  if ! redis-cli -p "$p" ping >/dev/null 2>&1; then
    mkdir -p "$dir/$p"
    redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "$dir/$p/nodes.conf" \
      --cluster-node-timeout 2000 --save '' --appendonly no --dir "$dir/$p" --daemonize yes --logfile "$dir/$p/log"
  fi
done
for p in "${ports[@]}"; do for _ in $(seq 1 50); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done; done
if [[ "$(redis-cli -p "${ports[0]}" cluster info | tr -d '\r' | sed -n 's/^cluster_known_nodes://p')" == 1 ]] &&
  [[ "$(redis-cli -p "${ports[0]}" dbsize | tr -d '\r')" == 0 ]]; then
  redis-cli --cluster create $(printf '127.0.0.1:%s ' "${ports[@]}") --cluster-yes >/dev/null
fi
for _ in $(seq 1 100); do [[ "$(state)" == ok ]] && break; sleep 0.1; done
if [[ "$(state)" == ok ]]; then echo "redis cluster: ok on 127.0.0.1:${ports[0]}-${ports[-1]}"; else
  echo "redis cluster: not ok on 127.0.0.1:${ports[0]}-${ports[-1]}" >&2; exit 1; fi
