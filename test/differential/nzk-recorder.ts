/**
 * node-zookeeper-client driven step by step, every result, error and watch
 * event written into a Transcript in arrival order (events are noted by the
 * library's watcher callbacks as they come off the socket, so their position
 * relative to responses is what the server sent).
 */
import zookeeper from 'node-zookeeper-client';
import { connectNzk, type NzkClient, type NzkConnectOptions, type NzkOp, type NzkOpResult, type NzkStat } from '../harness/nzk.js';
import { dataView, sortedChildren } from './normalize.js';
import { describeError, type Transcript } from './pair.js';

/** Parts of node-zookeeper-client that test/harness/node-zookeeper-client.d.ts leaves out. */
interface NzkAclRecord {
  permission: number;
  id: { scheme: string; id: string };
}
interface NzkExtras {
  ACL: new (permission: number, id: unknown) => NzkAclRecord;
  Id: new (scheme: string, id: string) => unknown;
}
interface NzkRawExtras {
  addAuthInfo(scheme: string, auth: Buffer): void;
  create(path: string, data: Buffer | undefined, acls: NzkAclRecord[], mode: number, callback: (error: Error | null, path: string) => void): void;
  getACL(path: string, callback: (error: Error | null, acls: NzkAclRecord[], stat: zookeeper.Stat) => void): void;
  setACL(path: string, acls: NzkAclRecord[], version: number, callback: (error: Error | null, stat: zookeeper.Stat) => void): void;
}

const extras = zookeeper as unknown as NzkExtras;

export interface AclSpec {
  perms: number;
  scheme: string;
  id: string;
}

export function nzkAcl(acl: readonly AclSpec[]): NzkAclRecord[] {
  return acl.map((a) => new extras.ACL(a.perms, new extras.Id(a.scheme, a.id)));
}

export const OPEN_ACL: AclSpec[] = [{ perms: 31, scheme: 'world', id: 'anyone' }];

/**
 * One node-zookeeper-client session whose every step goes into the
 * transcript, tagged with `label`.
 *
 * Watch events are held back and written just before this client's next
 * result: an event's position relative to its own client's responses is what
 * ZooKeeper guarantees, while its timing against another client's responses
 * is a race.
 */
export class NzkRecorder {
  private pendingEvents: unknown[] = [];
  private sortPending = false;

  private constructor(
    readonly client: NzkClient,
    readonly t: Transcript,
    readonly label: string,
  ) {}

  /** Connects; the session id is registered with the normaliser (so the first client is s0). */
  static async connect(connectString: string, t: Transcript, label = 'A', opts?: NzkConnectOptions): Promise<NzkRecorder> {
    const client = await connectNzk(connectString, opts);
    t.norm.session(client.sessionId);
    return new NzkRecorder(client, t, label);
  }

  get sessionId(): bigint {
    return this.client.sessionId;
  }

  private get raw(): zookeeper.Client & NzkRawExtras {
    return this.client.raw as zookeeper.Client & NzkRawExtras;
  }

  private stat = (stat: NzkStat | zookeeper.Stat | null | undefined): unknown => {
    if (stat === null || stat === undefined) return null;
    if (Buffer.isBuffer(stat.czxid)) {
      const s = stat as zookeeper.Stat;
      const long = (b: Buffer): bigint => b.readBigInt64BE();
      return this.t.norm.stat({ ...s, czxid: long(s.czxid), mzxid: long(s.mzxid), ctime: long(s.ctime), mtime: long(s.mtime), ephemeralOwner: long(s.ephemeralOwner), pzxid: long(s.pzxid) });
    }
    return this.t.norm.stat(stat as NzkStat);
  };

  /** A watcher that records each event as `{ event: label, type, path }`. */
  watcher(name: string): zookeeper.Watcher {
    return (event) => this.pendingEvents.push({ event: `${this.label}:${name}`, type: event.getName(), path: event.getPath() });
  }

  /**
   * Makes the next batch of events (those written with the next result) go
   * into the transcript sorted: for changes whose relative order ZooKeeper
   * takes from a Java hash set, such as the deletes of a closing session's
   * ephemerals.
   */
  sortNextEvents(): void {
    this.sortPending = true;
  }

  /** Writes the events received so far into the transcript. */
  flushEvents(): void {
    const events = this.pendingEvents.splice(0);
    if (this.sortPending) events.sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1));
    this.sortPending = false;
    for (const event of events) this.t.note(event);
  }

  /** Runs one step: its events, then its result or error, go into the transcript. */
  private async op<T>(what: unknown, action: () => Promise<T>, shape: (result: T) => unknown = () => true): Promise<T | undefined> {
    let outcome: { ok: unknown } | { error: unknown };
    let result: T | undefined;
    try {
      result = await action();
      outcome = { ok: shape(result) };
    } catch (e) {
      outcome = { error: describeError(e) };
    }
    this.flushEvents();
    this.t.note({ op: what, ...outcome });
    return result;
  }

  create(path: string, data?: Buffer | string, mode = 0, acl: readonly AclSpec[] = OPEN_ACL): Promise<string | undefined> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    return this.op(
      { [this.label]: 'create', path, mode, ...(data !== undefined && { data: dataView(bytes) }), ...(acl !== OPEN_ACL && { acl }) },
      () =>
        new Promise<string>((resolve, reject) =>
          this.raw.create(path, bytes, nzkAcl(acl), mode, (error, created) => (error ? reject(error) : resolve(created))),
        ),
      (created) => created,
    );
  }

  /** Creates a node without recording anything: 'created' or the error's name. */
  outcomeOfCreate(path: string, acl: readonly AclSpec[]): Promise<string> {
    return new Promise((resolve) =>
      this.raw.create(path, undefined, nzkAcl(acl), 0, (error) => resolve(error ? error.name : 'created')),
    );
  }

  getData(path: string, watch?: string): Promise<unknown> {
    return this.op(
      { [this.label]: 'getData', path, ...(watch !== undefined && { watch }) },
      () =>
        new Promise<{ data: Buffer | undefined; stat: zookeeper.Stat }>((resolve, reject) =>
          this.raw.getData(path, watch === undefined ? undefined : this.watcher(watch), (error, data, stat) =>
            error ? reject(error) : resolve({ data, stat }),
          ),
        ),
      ({ data, stat }) => ({ data: dataView(data), stat: this.stat(stat) }),
    );
  }

  exists(path: string, watch?: string): Promise<unknown> {
    return this.op(
      { [this.label]: 'exists', path, ...(watch !== undefined && { watch }) },
      () =>
        new Promise<zookeeper.Stat | null>((resolve, reject) =>
          this.raw.exists(path, watch === undefined ? undefined : this.watcher(watch), (error, stat) => (error ? reject(error) : resolve(stat))),
        ),
      (stat) => this.stat(stat),
    );
  }

  getChildren(path: string, watch?: string): Promise<unknown> {
    return this.op(
      { [this.label]: 'getChildren', path, ...(watch !== undefined && { watch }) },
      () =>
        new Promise<{ children: string[]; stat: zookeeper.Stat }>((resolve, reject) =>
          this.raw.getChildren(path, watch === undefined ? undefined : this.watcher(watch), (error, children, stat) =>
            error ? reject(error) : resolve({ children, stat }),
          ),
        ),
      ({ children, stat }) => ({ children: sortedChildren(children), stat: this.stat(stat) }),
    );
  }

  setData(path: string, data: Buffer | string, version = -1): Promise<unknown> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    return this.op(
      { [this.label]: 'setData', path, data: dataView(bytes), version },
      () => this.client.setData(path, bytes, version),
      (stat) => this.stat(stat),
    );
  }

  remove(path: string, version = -1): Promise<unknown> {
    return this.op({ [this.label]: 'delete', path, version }, () => this.client.remove(path, version));
  }

  getACL(path: string): Promise<unknown> {
    return this.op(
      { [this.label]: 'getACL', path },
      () =>
        new Promise<{ acls: NzkAclRecord[]; stat: zookeeper.Stat }>((resolve, reject) =>
          this.raw.getACL(path, (error, acls, stat) => (error ? reject(error) : resolve({ acls, stat }))),
        ),
      ({ acls, stat }) => ({ acl: acls.map((a) => ({ perms: a.permission, scheme: a.id.scheme, id: a.id.id })), stat: this.stat(stat) }),
    );
  }

  setACL(path: string, acl: readonly AclSpec[], version = -1): Promise<unknown> {
    return this.op(
      { [this.label]: 'setACL', path, acl, version },
      () =>
        new Promise<zookeeper.Stat>((resolve, reject) =>
          this.raw.setACL(path, nzkAcl(acl), version, (error, stat) => (error ? reject(error) : resolve(stat))),
        ),
      (stat) => this.stat(stat),
    );
  }

  /** addAuthInfo has no reply of its own; the next request is answered after it. */
  addAuth(scheme: string, auth: string): void {
    this.t.note({ [this.label]: 'addAuth', scheme, auth });
    this.raw.addAuthInfo(scheme, Buffer.from(auth));
  }

  /** A multi; when it fails, the error carries every op's outcome (as the library reports it). */
  transaction(ops: NzkOp[]): Promise<unknown> {
    const shape = (results: NzkOpResult[]): unknown =>
      results.map((r) => ({
        type: r.type,
        ...(r.path !== undefined && { path: r.path }),
        ...(r.stat !== undefined && { stat: this.stat(r.stat) }),
        ...(r.err !== undefined && { err: r.err }),
      }));
    const described = ops.map((op) => ('data' in op && op.data !== undefined ? { ...op, data: dataView(typeof op.data === 'string' ? Buffer.from(op.data) : op.data) } : op));
    const commit = async (): Promise<NzkOpResult[]> => {
      try {
        return await this.client.transaction(ops);
      } catch (e) {
        const results = (e as { results?: NzkOpResult[] }).results;
        throw Object.assign(e as object, { results: results === undefined ? undefined : shape(results) });
      }
    };
    return this.op({ [this.label]: 'multi', ops: described }, commit, shape);
  }

  /** Closes the session; events still pending are written first. */
  async close(): Promise<void> {
    this.flushEvents();
    await this.client.close();
  }
}
