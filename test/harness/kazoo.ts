/**
 * Runs Python snippets against a server with kazoo, the Python ZooKeeper
 * client (Debian python3-kazoo, for the system /usr/bin/python3 only).
 *
 * In the snippet, `zk` is a started KazooClient and `hosts` the connect
 * string (for opening more clients, which the snippet must stop itself). The
 * snippet sets `result`; it comes back as JSON, decoded as follows:
 *   - bytes            -> Buffer        (sent as {"$bytes": base64})
 *   - int beyond 2^53  -> bigint        (sent as {"$bigint": "decimal"}), e.g. session ids
 *   - namedtuples      -> objects       (ZnodeStat, ACL, Id, WatchedEvent keep field names)
 *   - tuple/list/set   -> arrays
 *   - anything else    -> { $repr: repr(value) }
 * An exception escaping the snippet becomes the result
 * { error: 'NoNodeError', message: str(e) }, so scenarios can compare errors
 * between servers; its traceback goes to stderr.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { runProcess } from './process.js';

export const SYSTEM_PYTHON = '/usr/bin/python3';

export interface KazooOptions {
  /** Bound on the whole run, including connecting. Default 60 s. */
  timeoutMs?: number;
  /** For zk.start(). Default 15 s. */
  connectTimeoutS?: number;
  /** Session timeout requested by zk. Default 10 s. */
  sessionTimeoutS?: number;
}

/** What a snippet raised, in place of its result. */
export interface KazooError {
  error: string;
  message: string;
}

const RESULT_MARKER = '__ZKTS_KAZOO_RESULT__ ';

const RUNNER = String.raw`
import base64, json, sys, textwrap, traceback
from kazoo.client import KazooClient

MAX_SAFE_INTEGER = 2**53 - 1

def plain(value):
    if value is None or isinstance(value, (bool, str, float)):
        return value
    if isinstance(value, int):
        return value if abs(value) <= MAX_SAFE_INTEGER else {"$bigint": str(value)}
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return [plain(v) for v in sorted(value, key=repr)]
    return {"$repr": repr(value)}

hosts, connect_timeout, session_timeout = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
snippet = textwrap.dedent(sys.stdin.read())
zk = KazooClient(hosts=hosts, timeout=session_timeout)
try:
    zk.start(timeout=connect_timeout)
except Exception as e:
    print("kazoo could not connect to %s: %s: %s" % (hosts, type(e).__name__, e), file=sys.stderr)
    sys.exit(3)
scope = {"zk": zk, "hosts": hosts, "result": None}
try:
    exec(compile(snippet, "<kazoo snippet>", "exec"), scope)
    outcome = plain(scope["result"])
except Exception as e:
    traceback.print_exc()
    outcome = {"error": type(e).__name__, "message": str(e)}
finally:
    zk.stop()
    zk.close()
print(${JSON.stringify(RESULT_MARKER)} + json.dumps(outcome), flush=True)
`;

/**
 * Runs `script` (indentation is removed) with a connected kazoo client and
 * returns its decoded `result`, or a KazooError if it raised. Rejects if
 * python fails to run, kazoo cannot connect, or the run exceeds timeoutMs.
 */
// The result is whatever the snippet computed; callers know its shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function runKazoo(connectString: string, script: string, opts: KazooOptions = {}): Promise<any> {
  const run = await runProcess(
    SYSTEM_PYTHON,
    ['-c', RUNNER, connectString, String(opts.connectTimeoutS ?? 15), String(opts.sessionTimeoutS ?? 10)],
    { name: 'kazoo', timeoutMs: opts.timeoutMs ?? 60_000, stdin: script },
  );
  const resultLine = run.stdout
    .split('\n')
    .reverse()
    .find((line) => line.startsWith(RESULT_MARKER));
  if (run.code !== 0 || resultLine === undefined) {
    throw new Error(`kazoo run failed (exit ${run.code ?? run.signal})\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`);
  }
  return JSON.parse(resultLine.slice(RESULT_MARKER.length), decodeTagged);
}

/** True when `value` is what runKazoo returns for a snippet that raised. */
export function isKazooError(value: unknown): value is KazooError {
  return typeof value === 'object' && value !== null && typeof (value as KazooError).error === 'string' && typeof (value as KazooError).message === 'string';
}

let kazooInstalled: boolean | undefined;

/** True when /usr/bin/python3 can import kazoo. */
export function isKazooAvailable(): boolean {
  kazooInstalled ??= existsSync(SYSTEM_PYTHON) && spawnSync(SYSTEM_PYTHON, ['-c', 'import kazoo.client'], { stdio: 'ignore' }).status === 0;
  return kazooInstalled;
}

function decodeTagged(_key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  if (keys.length !== 1) return value;
  const tagged = value as { $bytes?: unknown; $bigint?: unknown };
  if (typeof tagged.$bytes === 'string') return Buffer.from(tagged.$bytes, 'base64');
  if (typeof tagged.$bigint === 'string') return BigInt(tagged.$bigint);
  return value;
}
