/**
 * setquota, listquota and delquota. Quotas are kept by the client, as zkCli
 * keeps them: the limits of <path> are written to
 * /zookeeper/quota<path>/zookeeper_limits and the server keeps the usage in
 * .../zookeeper_stats, both as StatsTrack strings
 * ("count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=-1"). The steps below
 * are zkCli's, in its order, so that the nodes, their contents and the
 * messages are the same.
 */
import { CreateMode, ErrorCode, KeeperError, OPEN_ACL_UNSAFE } from '../../client/mod.js';
import type { CliCommand, CommandContext } from './command.js';
import { usageOf } from './command.js';
import { parseCommand, type CommandOptions } from './command-line.js';
import { CliError, IllegalArgument, toCliError } from './errors.js';
import { javaSplit, NumberFormatError, parseJavaInt, parseJavaLong } from './java.js';
import type { Zk } from './zk.js';
import { visitSubTreeDFS } from './zk-util.js';

const PROC_ZOOKEEPER = '/zookeeper';
const QUOTA_ZOOKEEPER = '/zookeeper/quota';
const LIMIT_NODE = 'zookeeper_limits';
const STAT_NODE = 'zookeeper_stats';

const quotaPath = (path: string): string => QUOTA_ZOOKEEPER + path;
const limitPath = (path: string): string => `${QUOTA_ZOOKEEPER}${path}/${LIMIT_NODE}`;
const statPath = (path: string): string => `${QUOTA_ZOOKEEPER}${path}/${STAT_NODE}`;
const trimQuotaPath = (path: string): string => path.slice(QUOTA_ZOOKEEPER.length);

const COUNT = 'count';
const BYTES = 'bytes';
const COUNT_HARD_LIMIT = 'countHardLimit';
const BYTE_HARD_LIMIT = 'byteHardLimit';

/** StatsTrack: key=long pairs; a key never set reads as -1. */
export class StatsTrack {
  private readonly stats = new Map<string, bigint>();

  /** Pairs separated by "," or ";"; a key with an empty value reads as -1. */
  static parse(text: string): StatsTrack {
    const track = new StatsTrack();
    for (const pair of text.split(/[,;]+/)) {
      if (pair === '') continue;
      const [key = '', value = ''] = javaSplit(pair, '=');
      try {
        track.stats.set(key, value === '' ? -1n : parseJavaLong(value));
      } catch (error) {
        if (error instanceof NumberFormatError) throw new IllegalArgument(error.message);
        throw error;
      }
    }
    return track;
  }

  get(key: string): bigint {
    return this.stats.get(key) ?? -1n;
  }

  set(key: string, value: bigint): void {
    this.stats.set(key, value);
  }

  /**
   * count and bytes first, then "=" and the other keys sorted, each after
   * ";": the form pre-3.5 parsers read (they stop at the extra "=").
   */
  toString(): string {
    const others = [...this.stats.keys()].filter((key) => key !== COUNT && key !== BYTES).sort();
    const base = `${COUNT}=${this.get(COUNT)},${BYTES}=${this.get(BYTES)}`;
    if (others.length === 0) return base;
    return `${base}=${others.map((key) => `;${key}=${this.stats.get(key)}`).join('')}`;
  }

  bytes(): Buffer {
    return Buffer.from(this.toString(), 'utf8');
  }
}

/** The -n, -b, -N and -B options: one of them, naming the StatsTrack field it sets. */
const QUOTA_FIELDS = [
  { key: 'n', field: COUNT, description: 'num soft quota', isCount: true },
  { key: 'b', field: BYTES, description: 'bytes soft quota', isCount: false },
  { key: 'N', field: COUNT_HARD_LIMIT, description: 'num hard quota', isCount: true },
  { key: 'B', field: BYTE_HARD_LIMIT, description: 'bytes hard quota', isCount: false },
] as const;

function quotaOptions(hasArg: boolean, required: boolean): CommandOptions {
  return {
    options: QUOTA_FIELDS.map(({ key, description }) => ({ key, hasArg, description })),
    group: { keys: QUOTA_FIELDS.map(({ key }) => key), required },
  };
}

const SET_QUOTA_OPTIONS = quotaOptions(true, true);
const DEL_QUOTA_OPTIONS = quotaOptions(false, false);

export const setQuotaCommand: CliCommand = {
  name: 'setquota',
  optionStr: '-n|-b|-N|-B val path',
  async run(words, ctx) {
    const cl = parseCommand(SET_QUOTA_OPTIONS, words);
    if (cl.args.length < 2) throw new CliError(usageOf(this));
    const path = cl.args[1]!;
    if (path.startsWith(QUOTA_ZOOKEEPER)) {
      ctx.err(`cannot set a quota under the path: ${QUOTA_ZOOKEEPER}`);
      return;
    }
    const quota = new StatsTrack();
    for (const { field } of QUOTA_FIELDS) quota.set(field, -1n);
    for (const { key, field, isCount } of QUOTA_FIELDS) {
      const text = cl.value(key);
      if (text === undefined) continue;
      let value: bigint;
      try {
        value = isCount ? BigInt(parseJavaInt(text)) : parseJavaLong(text);
      } catch (error) {
        if (!(error instanceof NumberFormatError)) throw error;
        ctx.err('NumberFormatException happens when parsing the option value');
        return;
      }
      if (isCount ? value <= 0n : value < 0n) {
        ctx.err(isCount ? 'the num quota must be greater than zero' : 'the bytes quota must be greater than or equal to zero');
        return;
      }
      quota.set(field, value);
    }
    try {
      await createQuota(ctx, path, quota);
    } catch (error) {
      throw toCliError(error);
    }
  },
};

async function createQuota(ctx: CommandContext, path: string, quota: StatsTrack): Promise<void> {
  const zk = ctx.zk;
  // Quotas are only set on nodes that exist.
  if ((await zk.exists(path, false)) === null) throw new IllegalArgument(`${path} does not exist.`);
  await checkIfChildQuota(zk, path);
  await checkIfParentQuota(zk, path);
  if ((await zk.exists(QUOTA_ZOOKEEPER, false)) === null) {
    try {
      await zk.create(PROC_ZOOKEEPER, null, OPEN_ACL_UNSAFE, CreateMode.PERSISTENT, false);
      await zk.create(QUOTA_ZOOKEEPER, null, OPEN_ACL_UNSAFE, CreateMode.PERSISTENT, false);
    } catch (error) {
      if (!isCode(error, ErrorCode.NodeExists)) throw error;
    }
  }
  let node = QUOTA_ZOOKEEPER;
  for (const name of javaSplit(path, '/').slice(1)) {
    node = `${node}/${name}`;
    if ((await zk.exists(node, false)) !== null) continue;
    try {
      await zk.create(node, null, OPEN_ACL_UNSAFE, CreateMode.PERSISTENT, false);
    } catch (error) {
      if (!isCode(error, ErrorCode.NodeExists)) throw error;
    }
  }
  const stats = `${node}/${STAT_NODE}`;
  const limits = `${node}/${LIMIT_NODE}`;
  if ((await zk.exists(limits, false)) === null) {
    await zk.create(limits, quota.bytes(), OPEN_ACL_UNSAFE, CreateMode.PERSISTENT, false);
    const empty = new StatsTrack();
    empty.set(COUNT, 0n);
    empty.set(BYTES, 0n);
    await zk.create(stats, empty.bytes(), OPEN_ACL_UNSAFE, CreateMode.PERSISTENT, false);
    warnIfExceeded(ctx, await readStatsTrack(zk, limits), await readStatsTrack(zk, stats));
  } else {
    const current = await readStatsTrack(zk, limits);
    for (const { field } of QUOTA_FIELDS) {
      if (quota.get(field) > -1n) current.set(field, quota.get(field));
    }
    warnIfExceeded(ctx, current, await readStatsTrack(zk, stats));
    await zk.setData(limits, current.bytes(), -1);
  }
}

/** A quota may not be set above or below another one: each subtree has at most one. */
async function checkIfChildQuota(zk: Zk, path: string): Promise<void> {
  const own = quotaPath(path);
  try {
    await visitSubTreeDFS(zk, own, false, async (node) => {
      let children: string[];
      try {
        children = await zk.getChildren(node, false);
      } catch {
        return; // removed meanwhile, or unreadable: zkCli skips it too
      }
      if (node !== own && children.includes(LIMIT_NODE)) {
        throw new IllegalArgument(`${path} has a child ${trimQuotaPath(node)} which has a quota`);
      }
    });
  } catch (error) {
    if (!isCode(error, ErrorCode.NoNode)) throw error;
  }
}

async function checkIfParentQuota(zk: Zk, path: string): Promise<void> {
  const names = javaSplit(path, '/');
  let node = QUOTA_ZOOKEEPER;
  for (let i = 1; i < names.length - 1; i++) {
    node = `${node}/${names[i]}`;
    let children: string[];
    try {
      children = await zk.getChildren(node, false);
    } catch (error) {
      if (isCode(error, ErrorCode.NoNode)) return;
      throw error;
    }
    if (children.length === 0) return;
    if (node !== quotaPath(path) && children.includes(LIMIT_NODE)) {
      throw new IllegalArgument(`${path} has a parent ${trimQuotaPath(node)} which has a quota`);
    }
  }
}

/** Printed on stdout, and the quota is set all the same. */
function warnIfExceeded(ctx: CommandContext, quota: StatsTrack, stats: StatsTrack): void {
  const exceeds = (limit: string, used: string): boolean => quota.get(limit) > -1n && quota.get(limit) < stats.get(used);
  if (exceeds(COUNT, COUNT) || exceeds(COUNT_HARD_LIMIT, COUNT)) {
    ctx.out(`[Warning]: the count quota you create is less than the existing count:${stats.get(COUNT)}`);
  }
  if (exceeds(BYTES, BYTES) || exceeds(BYTE_HARD_LIMIT, BYTES)) {
    ctx.out(`[Warning]: the bytes quota you create is less than the existing bytes:${stats.get(BYTES)}`);
  }
}

export const listQuotaCommand: CliCommand = {
  name: 'listquota',
  optionStr: 'path',
  async run(words, ctx) {
    const cl = parseCommand({ options: [] }, words);
    if (cl.args.length < 2) throw new CliError(usageOf(this));
    const path = cl.args[1]!;
    ctx.err(`absolute path is ${limitPath(path)}`);
    try {
      const quota = await readStatsTrack(ctx.zk, limitPath(path));
      const stats = await readStatsTrack(ctx.zk, statPath(path));
      ctx.out(`Output quota for ${path} ${quota.toString()}`);
      ctx.out(`Output stat for ${path} ${stats.toString()}`);
    } catch (error) {
      if (!isCode(error, ErrorCode.NoNode)) throw toCliError(error);
      ctx.err(`quota for ${path} does not exist.`);
    }
  },
};

export const delQuotaCommand: CliCommand = {
  name: 'delquota',
  optionStr: '[-n|-b|-N|-B] path',
  async run(words, ctx) {
    const cl = parseCommand(DEL_QUOTA_OPTIONS, words);
    if (cl.args.length < 2) throw new CliError(usageOf(this));
    const path = cl.args[1]!;
    // No flag: the whole quota goes, nodes and all; with one, just that limit is reset to -1.
    const field = QUOTA_FIELDS.find(({ key }) => cl.has(key))?.field;
    try {
      await delQuota(ctx, path, field);
    } catch (error) {
      if (!isCode(error, ErrorCode.NoNode)) throw toCliError(error);
      ctx.err(`quota for ${path} does not exist.`);
    }
  },
};

async function delQuota(ctx: CommandContext, path: string, field: string | undefined): Promise<void> {
  const zk = ctx.zk;
  const limits = limitPath(path);
  if ((await zk.exists(limits, false)) === null) {
    ctx.out(`Quota does not exist for ${path}`);
    return;
  }
  const quota = await readStatsTrack(zk, limits);
  if (field === undefined) {
    const node = quotaPath(path);
    for (const child of await zk.getChildren(node, false)) await zk.delete(`${node}/${child}`, -1);
    await trimProcQuotas(zk, node);
  } else {
    quota.set(field, -1n);
    await zk.setData(limits, quota.bytes(), -1);
  }
}

/** Deletes the now empty quota nodes on the way up to /zookeeper/quota. */
async function trimProcQuotas(zk: Zk, node: string): Promise<void> {
  for (let path = node; path !== QUOTA_ZOOKEEPER; path = path.slice(0, path.lastIndexOf('/'))) {
    if ((await zk.getChildren(path, false)).length > 0) return;
    await zk.delete(path, -1);
  }
}

async function readStatsTrack(zk: Zk, path: string): Promise<StatsTrack> {
  const { data } = await zk.getData(path, false);
  return StatsTrack.parse(data === null ? '' : data.toString('utf8'));
}

function isCode(error: unknown, code: number): boolean {
  return error instanceof KeeperError && error.code === code;
}
