#!/usr/bin/env bash
# A 2-node OpenSearch cluster on loopback, for the tests of Loupe's OpenSearch backend and for
# `loupe bench vectors --index opensearch`.
#
#   scripts/opensearch-cluster.sh start DIR        unpack (once), install k-NN, start both nodes, wait for green
#   scripts/opensearch-cluster.sh stop DIR         stop both nodes (SIGTERM, SIGKILL after 30 s)
#   scripts/opensearch-cluster.sh status DIR       cluster health, or "down"
#   scripts/opensearch-cluster.sh kill-node DIR N  SIGKILL node N (1 or 2), as a crash would
#   scripts/opensearch-cluster.sh start-node DIR N start node N again and wait until it has joined
#   scripts/opensearch-cluster.sh wait DIR STATUS  wait for green or yellow with both nodes
#
# Nodes: node-1 on 127.0.0.1 (cluster manager and data), node-2 on 127.0.0.2 (data only, so
# killing it never leaves the cluster without a manager); both on HTTP port 9250 and transport
# port 9350 of their own address (LOUPE_OS_HTTP_PORT, LOUPE_OS_TRANSPORT_PORT change them).
# Heaps are 256 MB. The integ-test distribution has no security plugin: plain HTTP, no users.
#
# Inputs: LOUPE_OS_DIST, a folder holding opensearch.zip (org.opensearch.distribution.integ-test-zip:
# opensearch) and opensearch-knn.zip (org.opensearch.plugin:opensearch-knn), which vector-store's
# build copies to vector-store/target/opensearch-dist (the default); OPENSEARCH_JAVA_HOME or
# JAVA_HOME, a JDK 21+ (the tests pass the JDK they run on, the one ./loupe found);
# LOUPE_OS_JVM_OPTS, extra node JVM flags; LOUPE_OS_START_TIMEOUT, seconds to wait for green
# (default 300). Nothing is downloaded here.
#
# OpenSearch refuses to run as root: as root this script creates the system user loupe-os
# (useradd -r) if missing, gives it DIR and runs the nodes as that user; DIR and the JDK must be
# readable by it (a folder under /tmp is). As any other user the nodes run as that user.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HTTP_PORT="${LOUPE_OS_HTTP_PORT:-9250}"
TRANSPORT_PORT="${LOUPE_OS_TRANSPORT_PORT:-9350}"
DIST="${LOUPE_OS_DIST:-$HERE/../vector-store/target/opensearch-dist}"
OS_USER=loupe-os
START_TIMEOUT="${LOUPE_OS_START_TIMEOUT:-300}"

say() { printf 'opensearch-cluster: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

usage() {
  sed -n '5,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

[ $# -ge 2 ] || usage
CMD="$1"
DIR="$2"
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
HOME_DIR="$DIR/home"

node_addr() { echo "127.0.0.$1"; }

# GET http://ADDR:PORT/PATH with bash's /dev/tcp, so curl is not needed; prints the body.
http_get() {
  local addr="$1" path="$2" response
  { exec 3<>"/dev/tcp/$addr/$HTTP_PORT"; } 2>/dev/null || return 1
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$addr" >&3
  response="$(timeout 70 cat <&3)" || { exec 3>&-; return 1; }
  exec 3>&-
  printf '%s' "${response#*$'\r\n\r\n'}"
}

java_home() {
  local j="${OPENSEARCH_JAVA_HOME:-${JAVA_HOME:-}}"
  [ -n "$j" ] && [ -x "$j/bin/java" ] || die "no JDK: set OPENSEARCH_JAVA_HOME or JAVA_HOME to a JDK 21+ (./loupe finds one; the tests pass theirs)"
  echo "$j"
}

# setpriv, not runuser or su: no PAM session whose end could take the daemonized nodes with it.
as_user() {
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid="$OS_USER" --regid="$OS_USER" --init-groups "$@"
  else
    "$@"
  fi
}

ensure_user() {
  [ "$(id -u)" = 0 ] || return 0
  if ! id -u "$OS_USER" >/dev/null 2>&1; then
    say "running as root, which OpenSearch refuses: creating the system user $OS_USER"
    useradd -r -M -d /nonexistent -s /usr/sbin/nologin "$OS_USER" 2>/dev/null \
      || useradd -r -M -s /bin/false "$OS_USER" \
      || die "cannot create the user $OS_USER (useradd failed); create it or run the tests as a normal user"
  fi
}

unzip_to() { # ZIP DEST
  if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$1" -d "$2"
  else
    (cd "$2" && "$(java_home)/bin/jar" xf "$1")
  fi
}

# Unpacks the distribution and installs the k-NN plugin into DIR/home, unless the same zips are
# installed there already.
install() {
  [ -f "$DIST/opensearch.zip" ] && [ -f "$DIST/opensearch-knn.zip" ] \
    || die "missing $DIST/opensearch.zip or opensearch-knn.zip; build vector-store with Maven (mvn -pl vector-store generate-test-resources) to fetch them"
  local stamp
  stamp="$(cksum "$DIST/opensearch.zip" "$DIST/opensearch-knn.zip" | awk '{print $1, $2}' | tr '\n' ' ')"
  if [ -f "$HOME_DIR/.loupe-installed" ] && [ "$(cat "$HOME_DIR/.loupe-installed")" = "$stamp" ]; then
    return 0
  fi
  say "unpacking OpenSearch and installing the k-NN plugin into $HOME_DIR"
  rm -rf "$HOME_DIR" "$DIR/unpack"
  mkdir -p "$DIR/unpack"
  unzip_to "$DIST/opensearch.zip" "$DIR/unpack"
  mv "$DIR/unpack"/opensearch-* "$HOME_DIR"
  rm -rf "$DIR/unpack"
  chmod +x "$HOME_DIR"/bin/*
  OPENSEARCH_JAVA_HOME="$(java_home)" "$HOME_DIR/bin/opensearch-plugin" install --batch "file://$DIST/opensearch-knn.zip" >&2 \
    || die "installing the k-NN plugin from $DIST/opensearch-knn.zip failed (its version must match the distribution's)"
  echo "$stamp" >"$HOME_DIR/.loupe-installed"
}

configure_node() { # N
  local n="$1" node="$DIR/node-$1" roles
  rm -rf "$node"
  mkdir -p "$node/data" "$node/logs"
  cp -r "$HOME_DIR/config" "$node/config"
  sed -i -E 's/^-Xms.*/-Xms256m/; s/^-Xmx.*/-Xmx256m/' "$node/config/jvm.options"
  # Extra JVM flags, one per line (the tests pass C1-only compilation and the serial collector, which
  # start a node in half the CPU time on a small shared machine).
  if [ -n "${LOUPE_OS_JVM_OPTS:-}" ]; then
    case "$LOUPE_OS_JVM_OPTS" in *UseSerialGC*|*UseParallelGC*) sed -i -E '/UseG1GC|G1ReservePercent|InitiatingHeapOccupancyPercent/d' "$node/config/jvm.options" ;; esac
    printf '%s\n' $LOUPE_OS_JVM_OPTS >>"$node/config/jvm.options"
  fi
  if [ "$n" = 1 ]; then roles="[cluster_manager, data, ingest]"; else roles="[data, ingest]"; fi
  cat >"$node/config/opensearch.yml" <<EOF
cluster.name: loupe-test
node.name: node-$n
node.roles: $roles
network.host: $(node_addr "$n")
http.port: $HTTP_PORT
transport.port: $TRANSPORT_PORT
discovery.seed_hosts: ["127.0.0.1:$TRANSPORT_PORT", "127.0.0.2:$TRANSPORT_PORT"]
cluster.initial_cluster_manager_nodes: ["node-1"]
path.data: $node/data
path.logs: $node/logs
# A nearly full disk on a CI machine must not stop shards from being allocated.
cluster.routing.allocation.disk.threshold_enabled: false
# Quick to notice a killed node and to give its shards back when it returns.
cluster.fault_detection.follower_check.interval: 500ms
cluster.fault_detection.leader_check.interval: 500ms
EOF
}

pid_of() { # N: the running pid of node N, or nothing
  local f="$DIR/node-$1/pid"
  [ -f "$f" ] || return 0
  local pid
  pid="$(cat "$f" 2>/dev/null || true)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
  return 0
}

start_node() { # N
  local n="$1"
  [ -z "$(pid_of "$n")" ] || return 0
  # In the foreground of a background job rather than with -d, whose launcher returns before the
  # node runs: env, setpriv and setsid all exec, so $! is the node's JVM.
  local as=()
  [ "$(id -u)" != 0 ] || as=(setpriv --reuid="$OS_USER" --regid="$OS_USER" --init-groups)
  "${as[@]}" env OPENSEARCH_JAVA_HOME="$(java_home)" OPENSEARCH_PATH_CONF="$DIR/node-$n/config" \
    setsid "$HOME_DIR/bin/opensearch" </dev/null >"$DIR/node-$n/logs/console.out" 2>&1 &
  echo $! >"$DIR/node-$n/pid"
}

print_logs() {
  for n in 1 2; do
    local log="$DIR/node-$n/logs/loupe-test.log"
    [ -f "$log" ] && { say "last lines of $log:"; tail -n 40 "$log" >&2; }
  done
  return 0
}

health() { http_get 127.0.0.1 "/_cluster/health" || http_get 127.0.0.2 "/_cluster/health"; }

wait_for() { # STATUS (green|yellow)
  local want="$1" deadline=$((SECONDS + START_TIMEOUT)) h=""
  while [ $SECONDS -lt $deadline ]; do
    h="$(http_get 127.0.0.1 "/_cluster/health?wait_for_status=$want&wait_for_nodes=2&timeout=5s" || true)"
    case "$h" in
      *'"timed_out":false'*) say "cluster is $want: $h"; return 0 ;;
    esac
    for n in 1 2; do
      [ -n "$(pid_of "$n")" ] || { tail -n 20 "$DIR/node-$n/logs/console.out" >&2 || true; print_logs; die "node-$n exited while starting"; }
    done
    sleep 1
  done
  say "the cluster did not become $want with 2 nodes within ${START_TIMEOUT}s; last health: ${h:-none}"
  print_logs
  return 1
}

stop_node() { # N [SIGNAL]
  local pid
  pid="$(pid_of "$1")"
  [ -n "$pid" ] || return 0
  kill "-${2:-TERM}" "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    say "node-$1 (pid $pid) did not stop within 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  fi
  rm -f "$DIR/node-$1/pid"
}

case "$CMD" in
  start)
    ensure_user
    for n in 1 2; do stop_node "$n"; done # a cluster a crashed test run left behind
    for n in 1 2; do
      if (exec 3<>"/dev/tcp/$(node_addr "$n")/$HTTP_PORT") 2>/dev/null; then
        die "port $HTTP_PORT on $(node_addr "$n") is taken by another program; stop it or set LOUPE_OS_HTTP_PORT"
      fi
    done
    install
    configure_node 1
    configure_node 2
    if [ "$(id -u)" = 0 ]; then
      chown -R "$OS_USER" "$DIR"
      as_user test -r "$HOME_DIR/bin/opensearch" -a -x "$(java_home)/bin/java" \
        || die "the user $OS_USER cannot read $DIR or the JDK $(java_home); put DIR under /tmp"
    fi
    start_node 1
    start_node 2
    wait_for green || { for n in 1 2; do stop_node "$n"; done; exit 1; }
    ;;
  stop)
    for n in 1 2; do stop_node "$n"; done
    ;;
  status)
    health || echo down
    echo
    ;;
  kill-node)
    [ $# -ge 3 ] || usage
    pid="$(pid_of "$3")"
    [ -n "$pid" ] || die "node-$3 is not running"
    kill -KILL "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    rm -f "$DIR/node-$3/pid"
    ;;
  start-node)
    [ $# -ge 3 ] || usage
    start_node "$3"
    wait_for yellow
    ;;
  wait)
    [ $# -ge 3 ] || usage
    wait_for "$3"
    ;;
  *)
    usage
    ;;
esac
