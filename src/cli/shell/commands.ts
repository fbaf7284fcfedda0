/**
 * zkCli's commands (org.apache.zookeeper.cli.*Command), each with zkCli's
 * flags, checks, output and messages. Where zkCli crashes with an uncaught
 * Java exception (a version that is not a number, an invalid path given to
 * addWatch), these print a message and fail with status 1 instead.
 */
import {
  AddWatchMode,
  CreateMode,
  ErrorCode,
  KeeperError,
  OPEN_ACL_UNSAFE,
  WatcherType,
  type ACL,
  type CreateModeValue,
  type Stat,
} from '../../client/mod.js';
import { FULL_VERSION } from '../../server/four-letter-words.js';
import { parseAcl } from './acl-parser.js';
import { clientConfigString } from './client-config.js';
import { usageOf, type CliCommand, type CommandContext } from './command.js';
import { helpText, parseCommand, type CommandOptions, type ParsedCommand } from './command-line.js';
import { CliError, toCliError } from './errors.js';
import {
  idToString,
  javaListToString,
  keeperExceptionMessage,
  NumberFormatError,
  parseJavaInt,
  parseJavaLong,
  permString,
  statLines,
} from './java.js';
import { delQuotaCommand, listQuotaCommand, setQuotaCommand } from './quota.js';
import { deleteRecursive, visitSubTreeDFS } from './zk-util.js';

/** EphemeralType.TTL's limit: 40 bits of milliseconds. */
const MAX_TTL_MS = 2n ** 40n - 1n;
const DEFAULT_DELETE_BATCH = 1000;

function flag(key: string, description: string): { key: string; hasArg: false; description: string } {
  return { key, hasArg: false, description };
}

function valued(key: string, description: string): { key: string; hasArg: true; description: string } {
  return { key, hasArg: true, description };
}

const NO_OPTIONS: CommandOptions = { options: [] };

function printStat(ctx: CommandContext, stat: Stat): void {
  for (const line of statLines(stat)) ctx.out(line);
}

/** The deprecated "cmd path watch" form: the word after the path was swapped for -w, as zkCli does (by its index). */
function rewriteWatchArgument(words: string[], cl: ParsedCommand, spec: CommandOptions, warning: string, ctx: CommandContext): ParsedCommand {
  if (cl.args.length <= 2) return cl;
  const rewritten = [...words];
  rewritten[2] = '-w';
  ctx.err(warning);
  return parseCommand(spec, rewritten);
}

/** The -v of set, delete and setAcl. zkCli dies on a value that is not an int; this reports it. */
function versionOption(cl: ParsedCommand): number {
  const text = cl.value('v');
  if (text === undefined) return -1;
  try {
    return parseJavaInt(text);
  } catch (error) {
    if (error instanceof NumberFormatError) throw new CliError('-v argument must be an int value');
    throw error;
  }
}

const LS_OPTIONS: CommandOptions = { options: [flag('?', 'help'), flag('s', 'stat'), flag('w', 'watch'), flag('R', 'recurse')] };

const lsCommand: CliCommand = {
  name: 'ls',
  optionStr: '[-s] [-w] [-R] path',
  async run(words, ctx) {
    let cl = parseCommand(LS_OPTIONS, words);
    if (cl.has('?')) for (const line of helpText('ls [options] path', LS_OPTIONS)) ctx.out(line);
    cl = rewriteWatchArgument(words, cl, LS_OPTIONS, "'ls path [watch]' has been deprecated. Please use 'ls [-w] path' instead.", ctx);
    if (cl.args.length < 2) throw new CliError(usageOf(this));
    const path = cl.args[1]!;
    const watch = cl.has('w');
    try {
      if (cl.has('R')) {
        await visitSubTreeDFS(ctx.zk, path, watch, (node) => ctx.out(node));
      } else if (cl.has('s')) {
        const { children, stat } = await ctx.zk.getChildren2(path, watch);
        ctx.out(javaListToString(children.sort()));
        printStat(ctx, stat);
      } else {
        ctx.out(javaListToString((await ctx.zk.getChildren(path, watch)).sort()));
      }
    } catch (error) {
      throw toCliError(error);
    }
  },
};

const CREATE_OPTIONS: CommandOptions = {
  options: [flag('e', 'ephemeral'), flag('s', 'sequential'), flag('c', 'container'), valued('t', 'ttl')],
};

const createCommand: CliCommand = {
  name: 'create',
  optionStr: '[-s] [-e] [-c] [-t ttl] path [data] [acl]',
  async run(words, ctx) {
    const cl = parseCommand(CREATE_OPTIONS, words);
    if (cl.args.length < 2) throw new CliError(usageOf(this));
    const [ephemeral, sequential, container, ttlText] = [cl.has('e'), cl.has('s'), cl.has('c'), cl.value('t')];
    if (container && (ephemeral || sequential)) {
      throw new CliError('-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.');
    }
    let ttl = 0n;
    if (ttlText !== undefined) {
      try {
        ttl = parseJavaLong(ttlText);
      } catch (error) {
        if (error instanceof NumberFormatError) throw new CliError('-t argument must be a long value');
        throw error;
      }
      if (ephemeral) throw new CliError('TTLs cannot be used with Ephemeral znodes');
      if (container) throw new CliError('TTLs cannot be used with Container znodes');
      if (ttl <= 0n || ttl > MAX_TTL_MS) throw new CliError(`ttl must be positive and cannot be larger than: ${MAX_TTL_MS}`);
    }
    const mode = createMode(ephemeral, sequential, container, ttlText !== undefined);
    const path = cl.args[1]!;
    const data = cl.args.length > 2 ? Buffer.from(cl.args[2]!, 'utf8') : null;
    const acl: readonly ACL[] = cl.args.length > 3 ? parseAcl(cl.args[3]!, (line) => ctx.err(line)) : OPEN_ACL_UNSAFE;
    try {
      const created = await ctx.zk.create(path, data, acl, mode, sequential, ttlText === undefined ? undefined : Number(ttl));
      ctx.err(`Created ${created}`);
    } catch (error) {
      if (error instanceof KeeperError && error.code === ErrorCode.EphemeralOnLocalSession) {
        ctx.err('Unable to create ephemeral node on a local session');
      } else if (error instanceof KeeperError && error.code === ErrorCode.InvalidACL) {
        ctx.err(keeperExceptionMessage(error.code, error.path));
      }
      throw toCliError(error);
    }
  },
};

function createMode(ephemeral: boolean, sequential: boolean, container: boolean, ttl: boolean): CreateModeValue {
  if (ephemeral) return sequential ? CreateMode.EPHEMERAL_SEQUENTIAL : CreateMode.EPHEMERAL;
  if (sequential) return ttl ? CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL : CreateMode.PERSISTENT_SEQUENTIAL;
  if (container) return CreateMode.CONTAINER;
  return ttl ? CreateMode.PERSISTENT_WITH_TTL : CreateMode.PERSISTENT;
}

const GET_OPTIONS: CommandOptions = { options: [flag('s', 'stats'), flag('w', 'watch')] };

const getCommand: CliCommand = {
  name: 'get',
  optionStr: '[-s] [-w] path',
  async run(words, ctx) {
    let cl = parseCommand(GET_OPTIONS, words);
    if (cl.args.length < 2) throw new CliError(usageOf(this));
    cl = rewriteWatchArgument(words, cl, GET_OPTIONS, "'get path [watch]' has been deprecated. Please use 'get [-s] [-w] path' instead.", ctx);
    try {
      const { data, stat } = await ctx.zk.getData(cl.args[1]!, cl.has('w'));
      ctx.out(data === null ? 'null' : data.toString('utf8'));
      if (cl.has('s')) printStat(ctx, stat);
    } catch (error) {
      throw toCliError(error);
    }
  },
};

const SET_OPTIONS: CommandOptions = { options: [flag('s', 'stats'), valued('v', 'version')] };

const setCommand: CliCommand = {
  name: 'set',
  optionStr: '[-s] [-v version] path data',
  async run(words, ctx) {
    const cl = parseCommand(SET_OPTIONS, words);
    if (cl.args.length < 3) throw new CliError(usageOf(this));
    const version = versionOption(cl);
    try {
      const stat = await ctx.zk.setData(cl.args[1]!, Buffer.from(cl.args[2]!, 'utf8'), version);
      if (cl.has('s')) printStat(ctx, stat);
    } catch (error) {
      throw toCliError(error);
    }
  },
};

const STAT_OPTIONS: CommandOptions = { options: [flag('w', 'watch')] };

const statCommand: CliCommand = {
  name: 'stat',
  optionStr: '[-w] path',
  async run(words, ctx) {
    let cl = parseCommand(STAT_OPTIONS, words);
    if (cl.args.length < 2) throw new CliError(usageOf(this));
    cl = rewriteWatchArgument(words, cl, STAT_OPTIONS, "'stat path [watch]' has been deprecated. Please use 'stat [-w] path' instead.", ctx);
    const path = cl.args[1]!;
    let stat: Stat | null;
    try {
      stat = await ctx.zk.exists(path, cl.has('w'));
    } catch (error) {
      throw toCliError(error);
    }
    if (stat === null) throw toCliError(new KeeperError(ErrorCode.NoNode, path));
    printStat(ctx, stat);
  },
};

const DELETE_OPTIONS: CommandOptions = { options: [valued('v', 'version')] };

const deleteCommand: CliCommand = {
  name: 'delete',
  optionStr: '[-v version] path',
  async run(words, ctx) {
    const cl = parseCommand(DELETE_OPTIONS, words);
    if (cl.args.length < 2) throw new CliError(usageOf(this));
    // zkCli warns about "delete path version" but then ignores the version.
    if (cl.args.length > 2) ctx.err("'delete path [version]' has been deprecated. Please use 'delete [-v version] path' instead.");
    const version = versionOption(cl);
    try {
      await ctx.zk.delete(cl.args[1]!, version);
    } catch (error) {
      throw toCliError(error);
    }
  },
};

const DELETE_ALL_OPTIONS: CommandOptions = { options: [valued('b', 'batch size')] };

const deleteAllCommand: CliCommand = {
  name: 'deleteall',
  optionStr: 'path [-b batch size]',
  async run(words, ctx) {
    const cl = parseCommand(DELETE_ALL_OPTIONS, words);
    if (cl.args.length < 2) throw new CliError(usageOf(this));
    let batchSize = DEFAULT_DELETE_BATCH;
    const batchText = cl.value('b');
    if (batchText !== undefined) {
      try {
        batchSize = parseJavaInt(batchText);
      } catch (error) {
        if (error instanceof NumberFormatError) throw new CliError('-b argument must be an int value');
        throw error;
      }
    }
    try {
      if (!(await deleteRecursive(ctx.zk, cl.args[1]!, batchSize))) ctx.err('Failed to delete some node(s) in the subtree!');
    } catch (error) {
      throw toCliError(error);
    }
  },
};

const GET_ACL_OPTIONS: CommandOptions = { options: [flag('s', 'stats')] };

const getAclCommand: CliCommand = {
  name: 'getAcl',
  optionStr: '[-s] path',
  async run(words, ctx) {
    const cl = parseCommand(GET_ACL_OPTIONS, words);
    if (cl.args.length < 2) throw new CliError(usageOf(this));
    try {
      const { acl, stat } = await ctx.zk.getACL(cl.args[1]!);
      // The Id's toString ends with a line break, hence "'world,'anyone" and ": cdrwa" on two lines.
      for (const entry of acl) ctx.out(`${idToString(entry.id)}: ${permString(entry.perms)}`);
      if (cl.has('s')) printStat(ctx, stat);
    } catch (error) {
      throw toCliError(error);
    }
  },
};

const SET_ACL_OPTIONS: CommandOptions = { options: [flag('s', 'stats'), valued('v', 'version'), flag('R', 'recursive')] };

const setAclCommand: CliCommand = {
  name: 'setAcl',
  optionStr: '[-s] [-v version] [-R] path acl',
  async run(words, ctx) {
    const cl = parseCommand(SET_ACL_OPTIONS, words);
    if (cl.args.length < 3) throw new CliError(usageOf(this));
    const path = cl.args[1]!;
    const acl = parseAcl(cl.args[2]!, (line) => ctx.err(line));
    const version = versionOption(cl);
    try {
      if (cl.has('R')) {
        await visitSubTreeDFS(ctx.zk, path, false, async (node) => {
          try {
            await ctx.zk.setACL(node, acl, version);
          } catch (error) {
            if (!(error instanceof KeeperError)) throw error;
            // zkCli prints these without a line break.
            ctx.print(keeperExceptionMessage(error.code, error.path));
          }
        });
      } else {
        const stat = await ctx.zk.setACL(path, acl, version);
        if (cl.has('s')) printStat(ctx, stat);
      }
    } catch (error) {
      throw toCliError(error);
    }
  },
};

const addAuthCommand: CliCommand = {
  name: 'addauth',
  optionStr: 'scheme auth',
  async run(words, ctx) {
    const cl = parseCommand(NO_OPTIONS, words);
    if (cl.args.length < 2) throw new CliError(usageOf(this));
    ctx.zk.addAuthInfo(cl.args[1]!, cl.args.length >= 3 ? Buffer.from(cl.args[2]!, 'utf8') : null);
  },
};

const syncCommand: CliCommand = {
  name: 'sync',
  optionStr: 'path',
  async run(words, ctx) {
    const cl = parseCommand(NO_OPTIONS, words);
    if (cl.args.length < 2) throw new CliError(usageOf(this));
    try {
      await ctx.zk.sync(cl.args[1]!);
      ctx.out('Sync is OK');
    } catch (error) {
      if (!(error instanceof KeeperError)) throw toCliError(error);
      ctx.out(`Sync has failed. rc=${error.code}`);
    }
  },
};

const ADD_WATCH_OPTIONS: CommandOptions = { options: [valued('m', '')] };
const ADD_WATCH_MODES = { PERSISTENT: 'persistent', PERSISTENT_RECURSIVE: 'persistentRecursive' } as const;

const addWatchCommand: CliCommand = {
  name: 'addWatch',
  optionStr: `[-m mode] path # optional mode is one of [${Object.keys(AddWatchMode).join(', ')}] - default is PERSISTENT_RECURSIVE`,
  async run(words, ctx) {
    const cl = parseCommand(ADD_WATCH_OPTIONS, words);
    if (cl.args.length !== 2) throw new CliError(usageOf(this));
    const modeName = (cl.value('m') ?? 'PERSISTENT_RECURSIVE').toUpperCase();
    if (!Object.hasOwn(ADD_WATCH_MODES, modeName)) throw new CliError(usageOf(this));
    try {
      await ctx.zk.addWatch(cl.args[1]!, ADD_WATCH_MODES[modeName as keyof typeof ADD_WATCH_MODES]);
    } catch (error) {
      throw toCliError(error);
    }
  },
};

const REMOVE_WATCHES_OPTIONS: CommandOptions = {
  options: [
    flag('c', 'child watcher type'),
    flag('d', 'data watcher type'),
    flag('a', 'any watcher type'),
    flag('l', 'remove locally when there is no server connection'),
  ],
};

const removeWatchesCommand: CliCommand = {
  name: 'removewatches',
  optionStr: 'path [-c|-d|-a] [-l]',
  async run(words, ctx) {
    const cl = parseCommand(REMOVE_WATCHES_OPTIONS, words);
    if (cl.args.length < 2) throw new CliError(usageOf(this));
    // -l is accepted, but ZkClient removes watches through the server only.
    const type = cl.has('c') ? WatcherType.Children : cl.has('d') ? WatcherType.Data : WatcherType.Any;
    try {
      await ctx.zk.removeAllWatches(cl.args[1]!, type);
    } catch (error) {
      throw toCliError(error);
    }
  },
};

const getAllChildrenNumberCommand: CliCommand = {
  name: 'getAllChildrenNumber',
  optionStr: 'path',
  async run(words, ctx) {
    const cl = parseCommand(NO_OPTIONS, words);
    if (cl.args.length < 2) throw new CliError(usageOf(this));
    try {
      ctx.out(String(await ctx.zk.getAllChildrenNumber(cl.args[1]!)));
    } catch (error) {
      throw toCliError(error);
    }
  },
};

const getEphemeralsCommand: CliCommand = {
  name: 'getEphemerals',
  optionStr: 'path',
  async run(words, ctx) {
    const cl = parseCommand(NO_OPTIONS, words);
    try {
      ctx.out(javaListToString(await ctx.zk.getEphemerals(cl.args[1] ?? '/')));
    } catch (error) {
      throw toCliError(error);
    }
  },
};

/** whoami takes no flags and ignores its words, as zkCli's does. */
const whoAmICommand: CliCommand = {
  name: 'whoami',
  optionStr: '',
  async run(_words, ctx) {
    try {
      const identities = await ctx.zk.whoAmI();
      ctx.out('Auth scheme: User');
      for (const { authScheme, user } of identities) ctx.out(`${authScheme}: ${user}`);
    } catch (error) {
      throw toCliError(error);
    }
  },
};

const CONFIG_OPTIONS: CommandOptions = { options: [flag('s', 'stats'), flag('w', 'watch'), flag('c', 'client connection string')] };

const configCommand: CliCommand = {
  name: 'config',
  optionStr: '[-c] [-w] [-s]',
  async run(words, ctx) {
    const cl = parseCommand(CONFIG_OPTIONS, words);
    try {
      const { data, stat } = await ctx.zk.getConfig(cl.has('w'));
      const text = data === null ? 'null' : data.toString('utf8');
      ctx.out(cl.has('c') ? clientConfigString(text) : text);
      if (cl.has('s')) printStat(ctx, stat);
    } catch (error) {
      throw toCliError(error);
    }
  },
};

const versionCommand: CliCommand = {
  name: 'version',
  optionStr: '',
  async run(words, ctx) {
    const cl = parseCommand(NO_OPTIONS, words);
    if (cl.args.length > 1) throw new CliError(usageOf(this));
    ctx.out(`ZooKeeper CLI version: ${FULL_VERSION}`);
  },
};

const closeCommand: CliCommand = {
  name: 'close',
  optionStr: '',
  async run(_words, ctx) {
    await ctx.closeSession();
  },
};

/** Listed as zkCli lists it, but ZkClient has no reconfig request to send. */
const reconfigCommand: CliCommand = {
  name: 'reconfig',
  optionStr:
    '[-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | ' +
    '[-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]',
  async run() {
    throw new CliError('reconfig is not supported by the zkts shell');
  },
};

/** The commands that go through a connection (zkCli's CommandFactory). */
export const CLI_COMMANDS: ReadonlyMap<string, CliCommand> = new Map(
  [
    closeCommand,
    createCommand,
    deleteCommand,
    deleteAllCommand,
    setCommand,
    getCommand,
    lsCommand,
    getAclCommand,
    setAclCommand,
    statCommand,
    syncCommand,
    setQuotaCommand,
    listQuotaCommand,
    delQuotaCommand,
    addAuthCommand,
    reconfigCommand,
    configCommand,
    removeWatchesCommand,
    getEphemeralsCommand,
    getAllChildrenNumberCommand,
    versionCommand,
    addWatchCommand,
    whoAmICommand,
  ].map((command) => [command.name, command]),
);
