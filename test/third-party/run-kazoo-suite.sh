#!/usr/bin/env bash
# Runs kazoo's own test suite (kazoo/tests, from a checkout of github.com/python-zk/kazoo) against
# zkts or against Apache ZooKeeper 3.8 from Debian, for comparing the two. A manual tool, not part
# of `npm test`: CI has no kazoo checkout.
#
#   test/third-party/run-kazoo-suite.sh <kazoo-checkout> zkts|zookeeper [pytest arguments...]
#
# kazoo's harness (kazoo/testing/common.py) starts each server itself as
# `java ... org.apache.zookeeper.server.quorum.QuorumPeerMain <zoo.cfg>`, by default three of them
# as one ensemble. A `java` shim placed first on PATH sees that command: for zkts it runs
# `node dist/src/cli/main.js server` on the same zoo.cfg (plus the ZooKeeper -D system properties,
# which zkts reads as zoo.cfg keys); for zookeeper it runs the real java. Either way it records the
# server's PID, so that anything the harness leaves running is stopped afterwards. zkts runs from a
# copy of dist/ taken at the start, so rebuilding during a run does not mix two versions.
#
# Environment: KAZOO_PORT_OFFSET (default 27400; the servers use offset..offset+23 on 127.0.0.1),
# KAZOO_TEST_TIMEOUT (seconds per test, default 300), PYTHON (default /usr/bin/python3, which needs
# python3-pytest, python3-pytest-timeout and python3-mock), ZKTS_LOG_LEVEL for the zkts servers.
# Build zkts first (npx tsc -p .). Results: a JUnit XML file and the servers' logs in the work
# directory printed at the end.
set -euo pipefail

if [[ $# -lt 2 || ( $2 != zkts && $2 != zookeeper ) ]]; then
  echo "usage: $0 <kazoo-checkout> zkts|zookeeper [pytest arguments...]" >&2
  exit 2
fi
kazoo_dir=$(cd "$1" && pwd)
server=$2
shift 2
zkts_root=$(cd "$(dirname "$0")/../.." && pwd)
python=${PYTHON:-/usr/bin/python3}
real_java=$(command -v java)
node=$(command -v node)
work=$(mktemp -d /tmp/zkts-kazoo-suite.XXXXXX)
mkdir -p "$work/bin" "$work/logs"
: >"$work/server-pids"

if [[ $server == zkts ]]; then
  if [[ ! -f $zkts_root/dist/src/cli/main.js ]]; then
    echo "build zkts first: (cd $zkts_root && npx tsc -p .)" >&2
    exit 2
  fi
  mkdir "$work/zkts"
  cp -r "$zkts_root/dist" "$zkts_root/package.json" "$work/zkts/"
  ln -s "$zkts_root/node_modules" "$work/zkts/node_modules"
fi

cat >"$work/bin/java" <<SHIM
#!/usr/bin/env bash
# Written by run-kazoo-suite.sh: stands in for java when kazoo's harness starts a server.
args=("\$@")
count=\${#args[@]}
if (( count >= 2 )) && [[ \${args[count-2]} == org.apache.zookeeper.server.quorum.QuorumPeerMain ]]; then
  config=\${args[count-1]}
  echo \$\$ >>"$work/server-pids"
  if [[ $server == zkts ]]; then
    # ZooKeeper's server properties given as -D (superDigest, ...) and the JAAS file are zoo.cfg
    # keys for zkts; the JVM's other ones (log4j, file.encoding, ...) and ZooKeeper's logging ones are not.
    zkts_config=\$(dirname "\$config")/zoo.zkts.cfg
    cp "\$config" "\$zkts_config"
    for arg in "\${args[@]}"; do
      case \$arg in
        -Dzookeeper.log.dir=* | -Dzookeeper.root.logger=*) ;;
        -Dzookeeper.* | -Djute.* | -Dreadonlymode.* | -Djava.security.auth.login.config=*) echo "\${arg#-D}" >>"\$zkts_config" ;;
      esac
    done
    log="$work/logs/\$(basename "\$(dirname "\$config")")-\$\$.log"
    exec "$node" "$work/zkts/dist/src/cli/main.js" server "\$zkts_config" >>"\$log" 2>&1
  fi
  # The harness gives the JVM no heap limit; three default-sized heaps are more than this needs.
  exec "$real_java" -Xmx256m -XX:+UseSerialGC -XX:-UsePerfData "\$@"
fi
exec "$real_java" "\$@"
SHIM
chmod +x "$work/bin/java"

stop_leftover_servers() {
  while read -r pid; do
    if kill -0 "$pid" 2>/dev/null; then
      echo "stopping leftover server process $pid" >&2
      kill "$pid" 2>/dev/null || true
      sleep 2
      kill -9 "$pid" 2>/dev/null || true
    fi
  done <"$work/server-pids"
}
trap stop_leftover_servers EXIT

status=0
(
  cd "$kazoo_dir"
  PATH="$work/bin:$PATH" \
  ZOOKEEPER_CLASSPATH=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar \
  ZOOKEEPER_VERSION=3.8.0 \
  ZOOKEEPER_PORT_OFFSET=${KAZOO_PORT_OFFSET:-27400} \
  "$python" -m pytest -p no:cacheprovider -ra -v \
    --timeout="${KAZOO_TEST_TIMEOUT:-300}" \
    --junitxml="$work/junit.xml" \
    "${@:-kazoo/tests}"
) || status=$?
echo "work directory (junit.xml, server logs): $work" >&2
exit "$status"
