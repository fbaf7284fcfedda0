/**
 * The ZooKeeper handle the shell's commands use: a ZkClient seen through
 * the Java client's API, so that the commands can follow zkCli's code and
 * fail the way it does.
 *
 * - Paths are checked first, with PathUtils' messages (an IllegalArgument).
 * - `watch: true` sets the shell's one watcher (zkCli's default watcher):
 *   like the Java client, a notification that fires several of its watches
 *   (a data and a child watch on a deleted node) reaches it once.
 * - Every call is bounded by the session timeout; a call that gets no answer
 *   fails with ConnectionLoss, as the Java client's calls do when the
 *   connection cannot be (re-)established.
 * - What the Java client does differently from ZkClient is reproduced:
 *   versions below -1 reach the server (which answers BadVersion), an empty
 *   ACL fails with InvalidACL without a path, and getConfig reads
 *   /zookeeper/config outside the chroot.
 */
import {
  ErrorCode,
  KeeperError,
  parseConnectString,
  ZkClient,
  type ACL,
  type ClientInfo,
  type CreateModeValue,
  type GetDataResult,
  type Op,
  type PersistentWatch,
  type PersistentWatchMode,
  type Stat,
  type WatchCallback,
  type WatcherTypeValue,
  type WatchEvent,
} from '../../client/mod.js';
import { EventType } from '../../protocol/constants.js';
import { pathProblem } from '../../protocol/paths.js';
import { IllegalArgument } from './errors.js';

const CONFIG_NODE = '/zookeeper/config';

/** PathUtils' messages that it does not wrap in "Invalid path string ...". */
const PLAIN_PATH_PROBLEMS = new Set(['Path length must be > 0', 'Path must start with / character', 'Path must not end with / character']);

/** PathUtils.validatePath: a sequential create's path is checked with a "1" appended, as the server will append digits. */
export function validatePath(path: string, sequential = false): void {
  const checked = sequential ? `${path}1` : path;
  const problem = pathProblem(checked);
  if (problem === null) return;
  throw new IllegalArgument(PLAIN_PATH_PROBLEMS.has(problem) ? problem : `Invalid path string "${checked}" caused by ${problem}`);
}

export interface ZkOptions {
  /** The connect string the client was made from (its chroot matters to getConfig). */
  connectString: string;
  sessionTimeoutMs: number;
  readOnly: boolean;
  /** Receives every watch notification, once each. */
  watcher: WatchCallback;
}

export class Zk {
  private readonly watch: WatchCallback = (event) => this.deliver(event);
  private readonly delivered = new WeakSet<WatchEvent>();
  private readonly hasChroot: boolean;
  /** Only under a chroot: a client without it, for getConfig. */
  private rootClient: ZkClient | null = null;

  constructor(
    readonly client: ZkClient,
    private readonly options: ZkOptions,
  ) {
    this.hasChroot = parseConnectString(options.connectString).chroot !== null;
  }

  /**
   * Starts connecting, unless already started. The shell does this at once
   * in interactive mode; a one-shot command connects on its first request,
   * so that one failing before it needs the server ends before any
   * connection is made (zkCli races the connection there).
   */
  start(): void {
    if (this.client.state === 'idle') this.client.start().catch(() => undefined);
  }

  private get live(): ZkClient {
    this.start();
    return this.client;
  }

  /** Closes the extra client getConfig may have opened (the caller closes the main one). */
  async closeExtras(): Promise<void> {
    await this.rootClient?.close();
  }

  async getChildren(path: string, watch: boolean): Promise<string[]> {
    validatePath(path);
    return this.call(path, (timeoutMs) => this.live.getChildren(path, { timeoutMs, watch: this.watcherIf(watch) }));
  }

  async getChildren2(path: string, watch: boolean): Promise<{ children: string[]; stat: Stat }> {
    validatePath(path);
    return this.call(path, (timeoutMs) => this.live.getChildren2(path, { timeoutMs, watch: this.watcherIf(watch) }));
  }

  async getData(path: string, watch: boolean): Promise<GetDataResult> {
    validatePath(path);
    return this.call(path, (timeoutMs) => this.live.getData(path, { timeoutMs, watch: this.watcherIf(watch) }));
  }

  async exists(path: string, watch: boolean): Promise<Stat | null> {
    validatePath(path);
    return this.call(path, (timeoutMs) => this.live.exists(path, { timeoutMs, watch: this.watcherIf(watch) }));
  }

  async create(path: string, data: Buffer | null, acl: readonly ACL[], mode: CreateModeValue, sequential: boolean, ttlMs?: number): Promise<string> {
    validatePath(path, sequential);
    validateAcl(acl);
    return this.call(path, (timeoutMs) => this.live.create(path, data, { timeoutMs, acl, mode, ttlMs }));
  }

  async setData(path: string, data: Buffer, version: number): Promise<Stat> {
    validatePath(path);
    await this.refuseLowVersion(path, version);
    return this.call(path, (timeoutMs) => this.live.setData(path, data, { timeoutMs, version }));
  }

  async delete(path: string, version: number): Promise<void> {
    validatePath(path);
    await this.refuseLowVersion(path, version);
    return this.call(path, (timeoutMs) => this.live.delete(path, { timeoutMs, version }));
  }

  async getACL(path: string): Promise<{ acl: ACL[]; stat: Stat }> {
    validatePath(path);
    return this.call(path, (timeoutMs) => this.live.getACL(path, { timeoutMs }));
  }

  async setACL(path: string, acl: readonly ACL[], version: number): Promise<Stat> {
    validatePath(path);
    validateAcl(acl);
    await this.refuseLowVersion(path, version);
    return this.call(path, (timeoutMs) => this.live.setACL(path, acl, { timeoutMs, version }));
  }

  async sync(path: string): Promise<void> {
    validatePath(path);
    return this.call(path, (timeoutMs) => this.live.sync(path, { timeoutMs }));
  }

  async getAllChildrenNumber(path: string): Promise<number> {
    validatePath(path);
    return this.call(path, (timeoutMs) => this.live.getAllChildrenNumber(path, { timeoutMs }));
  }

  async getEphemerals(prefixPath: string): Promise<string[]> {
    validatePath(prefixPath);
    return this.call(prefixPath, (timeoutMs) => this.live.getEphemerals(prefixPath, { timeoutMs }));
  }

  async whoAmI(): Promise<ClientInfo[]> {
    return this.call(undefined, (timeoutMs) => this.live.whoAmI({ timeoutMs }));
  }

  /**
   * As the Java client's addAuthInfo, this does not wait: the identity goes
   * out before any later request, and a rejected one ends the session
   * (reported as the AuthFailed state).
   */
  addAuthInfo(scheme: string, auth: Buffer | null): void {
    this.live.addAuth(scheme, auth).catch(() => undefined);
  }

  /** The watch's events go to the watcher until it is removed or the session ends. */
  async addWatch(path: string, mode: PersistentWatchMode): Promise<void> {
    validatePath(path);
    const watch = await this.call(path, (timeoutMs) => this.live.addWatch(path, mode, { timeoutMs }));
    void this.forward(watch);
  }

  async removeAllWatches(path: string, type: WatcherTypeValue): Promise<void> {
    validatePath(path);
    return this.call(path, (timeoutMs) => this.live.removeWatches(path, type, { timeoutMs }));
  }

  async multi(ops: readonly Op[]): Promise<unknown> {
    return this.call(undefined, (timeoutMs) => this.live.multi(ops, { timeoutMs }));
  }

  /**
   * ZooKeeper.getConfig: /zookeeper/config, whatever the chroot. ZkClient
   * maps every path through its chroot, so under one a second client
   * without it does the reading (and holds the watch).
   */
  async getConfig(watch: boolean): Promise<GetDataResult> {
    const client = this.hasChroot ? this.configClient() : this.live;
    return this.call(CONFIG_NODE, (timeoutMs) => client.getData(CONFIG_NODE, { timeoutMs, watch: this.watcherIf(watch) }));
  }

  private configClient(): ZkClient {
    if (this.rootClient === null) {
      const servers = parseConnectString(this.options.connectString).servers;
      const hosts = servers.map(({ host, port }) => `${host.includes(':') ? `[${host}]` : host}:${port}`).join(',');
      this.rootClient = new ZkClient(hosts, { sessionTimeoutMs: this.options.sessionTimeoutMs, readOnly: this.options.readOnly });
      this.rootClient.start().catch(() => undefined);
    }
    return this.rootClient;
  }

  private watcherIf(watch: boolean): WatchCallback | undefined {
    return watch ? this.watch : undefined;
  }

  /**
   * Connection state changes are reported by the shell from the client's
   * state events, so the copies that watches receive (None events) are
   * dropped; a node event is passed on once however many watches it fired.
   */
  private deliver(event: WatchEvent): void {
    if (event.type === EventType.None || this.delivered.has(event)) return;
    this.delivered.add(event);
    this.options.watcher(event);
  }

  private async forward(watch: PersistentWatch): Promise<void> {
    for await (const event of watch) this.deliver(event);
  }

  /** The server compares any version other than -1 with the node's; ZkClient refuses those below -1 itself. */
  private async refuseLowVersion(path: string, version: number): Promise<void> {
    if (version >= -1) return;
    const stat = await this.exists(path, false);
    throw new KeeperError(stat === null ? ErrorCode.NoNode : ErrorCode.BadVersion, path);
  }

  private async call<T>(path: string | undefined, run: (timeoutMs: number) => Promise<T>): Promise<T> {
    try {
      return await run(this.options.sessionTimeoutMs);
    } catch (error) {
      if (error instanceof KeeperError && error.code === ErrorCode.RequestTimeout) throw new KeeperError(ErrorCode.ConnectionLoss, path);
      throw error;
    }
  }
}

/** ZooKeeper.validateACL: an empty list fails before anything is sent, with no path in the exception. */
function validateAcl(acl: readonly ACL[]): void {
  if (acl.length === 0) throw new KeeperError(ErrorCode.InvalidACL);
}
