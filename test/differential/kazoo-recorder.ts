/**
 * kazoo scenarios: a Python snippet records its own transcript with the
 * helpers below, and the result is normalised into the scenario's
 * Transcript on the TypeScript side.
 *
 * Helpers available to a snippet (besides `zk` and `hosts` from the harness):
 *   rec(label, fn, *args, **kwargs)  runs fn, appends {op: label, ok: result}
 *                                    or {op: label, error: {name, code}}
 *   note(value)                      appends any value
 *   watcher(label)                   a watch function that records events
 *   wait_events(n)                   waits (bounded) until n events arrived
 *   new_client()                     another started KazooClient (stopped at the end)
 * Events are kept apart from the transcript (`events`), in arrival order:
 * kazoo runs watch callbacks on its own thread, so their position relative
 * to results is not observable through it (the node-zookeeper-client and raw
 * scenarios check positions).
 */
import { runKazoo } from '../harness/kazoo.js';
import { dataView } from './normalize.js';
import type { Target } from './pair.js';

const PRELUDE = String.raw`
import threading, time
from kazoo.client import KazooClient
from kazoo.exceptions import *
from kazoo.security import make_digest_acl, make_digest_acl_credential, make_acl, ACL, Id, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, CREATOR_ALL_ACL

T = []
EVENTS = []
CLIENTS = []
_events_changed = threading.Condition()

def _plain_result(value):
    if isinstance(value, Exception):
        return {"exception": type(value).__name__, "code": getattr(value, "code", None)}
    if isinstance(value, (list, tuple)) and not hasattr(value, "_asdict"):
        return [_plain_result(v) for v in value]
    return value

def rec(label, fn, *args, **kwargs):
    try:
        value = fn(*args, **kwargs)
    except Exception as e:
        T.append({"op": label, "error": {"name": type(e).__name__, "code": getattr(e, "code", None)}})
        return None
    T.append({"op": label, "ok": _plain_result(value)})
    return value

def note(value):
    T.append(value)

def watcher(label):
    def on_event(event):
        with _events_changed:
            EVENTS.append({"event": label, "type": event.type, "state": event.state, "path": event.path})
            _events_changed.notify_all()
    return on_event

def wait_events(n, timeout=20):
    deadline = time.time() + timeout
    with _events_changed:
        while len(EVENTS) < n and time.time() < deadline:
            _events_changed.wait(deadline - time.time())
    return len(EVENTS) >= n

def new_client(**kwargs):
    client = KazooClient(hosts=hosts, **kwargs)
    client.start(timeout=15)
    CLIENTS.append(client)
    T.append({"session": client.client_id[0]})
    return client

T.append({"session": zk.client_id[0]})
`;

const EPILOGUE = String.raw`
for _client in CLIENTS:
    try:
        _client.stop()
        _client.close()
    except Exception:
        pass
result = {"transcript": T, "events": EVENTS}
`;

/** Removes the common indentation of a snippet (the harness dedents, but the prelude sits at column 0). */
export function dedent(text: string): string {
  const lines = text.replace(/^\n/, '').split('\n');
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length);
  const cut = Math.min(...indents);
  return lines.map((l) => l.slice(cut)).join('\n');
}

/**
 * Runs a kazoo snippet against the target and writes its normalised
 * transcript, then its events, into target.t. `R` in the snippet is the
 * scenario's root path.
 */
export async function kazooScenario(target: Target, snippet: string): Promise<void> {
  const script = `${PRELUDE}\nR = ${JSON.stringify(target.root)}\n${dedent(snippet)}\n${EPILOGUE}`;
  const result = await runKazoo(target.connectString, script, { timeoutMs: 90_000 });
  if ((result as { error?: unknown }).error !== undefined) {
    throw new Error(`kazoo snippet raised ${JSON.stringify(result)}`);
  }
  const { transcript, events } = result as { transcript: unknown[]; events: unknown[] };
  for (const entry of transcript) target.t.note(normalizeKazoo(entry, target));
  target.t.note({ events });
}

const STAT_FIELDS = ['czxid', 'mzxid', 'ctime', 'mtime', 'version', 'cversion', 'aversion', 'ephemeralOwner', 'dataLength', 'numChildren', 'pzxid'];

function isStat(value: object): boolean {
  return STAT_FIELDS.every((field) => field in value);
}

/** Stats, session ids and bytes in a kazoo result, normalised; everything else as it is. */
function normalizeKazoo(value: unknown, target: Target): unknown {
  if (Buffer.isBuffer(value)) return dataView(value);
  if (Array.isArray(value)) return value.map((v) => normalizeKazoo(v, target));
  if (typeof value !== 'object' || value === null) return value;
  if (isStat(value)) return target.t.norm.stat(value as Parameters<typeof target.t.norm.stat>[0]);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = key === 'session' && (typeof v === 'number' || typeof v === 'bigint') ? target.t.norm.session(v) : normalizeKazoo(v, target);
  }
  return out;
}
