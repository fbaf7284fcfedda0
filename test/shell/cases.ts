/**
 * The one-shot commands compared between `zkts shell` and zkCli.sh: each
 * case prepares the same nodes in two places (a chroot for each tool), then
 * runs its steps, one process per step and tool, and their outputs must
 * match once times, zxids and session ids are normalised. A `shared` case
 * runs without a chroot, on nodes both tools read unchanged, and is
 * compared as printed.
 */
import { CreateMode, digestAuth, Perms, type ZkClient } from '../../src/client/mod.js';

export interface ShellCase {
  name: string;
  /** Prepares the case's nodes, through a client connected to the case's chroot. */
  setup?: (client: ZkClient) => Promise<void>;
  /** One one-shot run each: the command and its words. */
  steps: string[][];
  /** Runs on the server's root without setup or normalisation: read-only steps only. */
  shared?: boolean;
  /** Also compared on Apache ZooKeeper: where the server's part of the answer matters. */
  reference?: boolean;
}

/** /t holding a small tree with data, null data, and children at two levels. */
async function tree(client: ZkClient): Promise<void> {
  await client.create('/t', 'root data');
  await client.create('/t/a', 'A');
  await client.create('/t/b', null);
  await client.create('/t/a/x', 'X');
  await client.create('/t/a/y', '');
  await client.create('/t/b/z', 'Z');
}

async function node(client: ZkClient): Promise<void> {
  await client.create('/n', 'hello');
}

export const CASES: ShellCase[] = [
  // ---- ls ----
  { name: 'ls', setup: tree, steps: [['ls', '/'], ['ls', '/t'], ['ls', '/t/a/x']], reference: true },
  { name: 'ls -s', setup: tree, steps: [['ls', '-s', '/t']], reference: true },
  { name: 'ls -w and -R', setup: tree, steps: [['ls', '-w', '/t'], ['ls', '-R', '/t'], ['ls', '-R', '/'], ['ls', '-R', '-w', '-s', '/t/b']] },
  { name: 'ls errors', setup: tree, steps: [['ls'], ['ls', '/nope'], ['ls', '-R', '/nope'], ['ls', '/t/'], ['ls', 'relative'], ['ls', '-x', '/']] },
  { name: 'ls flag forms', setup: tree, steps: [['ls', '-sw', '/t'], ['ls', '--s', '/'], ['ls', '-s=1', '/'], ['ls', '--', '-s'], ['ls', '-'], ['ls', '-?', '/t']] },
  { name: 'ls deprecated watch word', setup: tree, steps: [['ls', '/t', 'watch'], ['ls', '-s', '/t', 'watch']] },
  { name: 'ls bad paths', steps: [['ls', '/a//b'], ['ls', '/a/./b'], ['ls', '/a/..'], ['ls', '']] },
  // ---- create ----
  { name: 'create', steps: [['create', '/n'], ['create', '/d', 'some data'], ['get', '/n'], ['get', '/d'], ['create', '/e', '']], reference: true },
  // Not listed after an ephemeral create: zkCli leaves its session (and so the node) to expire, the shell closes it.
  { name: 'create modes', setup: node, steps: [['create', '-s', '/n/s'], ['create', '-s', '/n/s'], ['create', '-s', '/n/'], ['ls', '/n'], ['create', '-c', '/cont'], ['create', '-e', '/eph', 'x'], ['create', '-e', '-s', '/n/es']], reference: true },
  { name: 'create TTL', setup: node, steps: [['create', '-t', '60000', '/ttl', 'x'], ['stat', '/ttl'], ['create', '-s', '-t', '60000', '/n/ttls'], ['ls', '/n']], reference: true },
  {
    name: 'create flag errors',
    steps: [
      ['create'],
      ['create', '-c', '-e', '/c'],
      ['create', '-c', '-s', '/c'],
      ['create', '-t', 'abc', '/t'],
      ['create', '-t', '100', '-e', '/t'],
      ['create', '-t', '100', '-c', '/t'],
      ['create', '-t', '0', '/t'],
      ['create', '-t', '1099511627776', '/t'],
      ['create', '-t'],
      ['create', '-q', '/t'],
    ],
  },
  { name: 'create server errors', setup: tree, steps: [['create', '/t'], ['create', '/no/parent'], ['create', 'relative'], ['create', '/bad//path'], ['create', '/t/a/x/']], reference: true },
  {
    name: 'create with ACLs',
    steps: [
      ['create', '/acl1', 'x', 'world:anyone:r'],
      ['getAcl', '/acl1'],
      ['create', '/acl2', 'x', 'world:anyone:rz,bogus,ip:127.0.0.1:cdrwa'],
      ['getAcl', '/acl2'],
      ['create', '/acl3', 'x', 'bogus'],
      ['create', '/acl4', 'x', ''],
      ['create', '/acl5', 'x', 'auth::cdrwa'],
      ['create', '/acl6', 'x', ',,'],
    ],
    reference: true,
  },
  {
    name: 'create under an ephemeral',
    setup: async (client) => {
      await client.create('/eph', 'x', { mode: CreateMode.EPHEMERAL });
    },
    steps: [['create', '/eph/child']],
    reference: true,
  },
  // ---- get, set, stat ----
  { name: 'get', setup: tree, steps: [['get', '/t'], ['get', '-s', '/t/a'], ['get', '/t/b'], ['get', '-w', '/t/a/y'], ['get', '-s', '-w', '/t']], reference: true },
  { name: 'get errors', setup: tree, steps: [['get'], ['get', '/nope'], ['get', '/t/'], ['get', '-x', '/t']] },
  { name: 'get deprecated watch word', setup: tree, steps: [['get', '/t', 'w'], ['get', '-s', '/t', 'w']] },
  {
    name: 'set',
    setup: node,
    steps: [['set', '/n', 'v1'], ['get', '-s', '/n'], ['set', '-s', '/n', 'v2'], ['set', '-v', '2', '/n', 'v3'], ['set', '-v5', '/n', 'v4'], ['set', '-v=3', '/n', 'v4'], ['get', '/n']],
    reference: true,
  },
  {
    name: 'set errors',
    setup: node,
    steps: [['set', '/n'], ['set', '-v'], ['set', '-v', '-s', '/n', 'x'], ['set', '-v', '-2', '/n', 'x'], ['set', '-v', '-1', '/n', 'x'], ['set', '/nope', 'x'], ['set', '-s', '/n/', 'x']],
    reference: true,
  },
  { name: 'stat', setup: tree, steps: [['stat', '/t'], ['stat', '-w', '/t/a'], ['stat', '/t/a', 'w'], ['stat', '/nope'], ['stat'], ['stat', '/t/']], reference: true },
  // ---- delete, deleteall ----
  { name: 'delete', setup: tree, steps: [['delete', '/t/a/x'], ['delete', '-v', '0', '/t/a/y'], ['ls', '/t/a'], ['delete', '/t/b/z', '5'], ['ls', '/t/b']], reference: true },
  { name: 'delete errors', setup: tree, steps: [['delete'], ['delete', '/nope'], ['delete', '/t'], ['delete', '-v', '3', '/t/a/x'], ['delete', '-v', '-3', '/t/a/x'], ['delete', '-v'], ['delete', '/t/']], reference: true },
  { name: 'deleteall', setup: tree, steps: [['deleteall', '/t/a'], ['ls', '/t'], ['deleteall', '/t', '-b', '1'], ['ls', '/']], reference: true },
  { name: 'deleteall errors', setup: tree, steps: [['deleteall'], ['deleteall', '/nope'], ['deleteall', '/t', '-b', 'x'], ['deleteall', '/t/']] },
  // ---- ACLs ----
  {
    name: 'getAcl',
    setup: async (client) => {
      await tree(client);
      await client.create('/digest', 'x', { acl: [{ perms: Perms.ALL, id: digestAuth('user', 'secret') }, { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }] });
    },
    steps: [['getAcl', '/t'], ['getAcl', '-s', '/t/a'], ['getAcl', '/digest'], ['getAcl', '/nope'], ['getAcl']],
    reference: true,
  },
  {
    name: 'setAcl',
    setup: tree,
    steps: [['setAcl', '/t/a', 'world:anyone:cdrw'], ['getAcl', '/t/a'], ['setAcl', '-s', '/t/a', 'world:anyone:cdrwa'], ['setAcl', '-v', '5', '/t/a', 'world:anyone:r'], ['setAcl', '-v', '2', '/t/a', 'world:anyone:ra'], ['getAcl', '-s', '/t/a']],
    reference: true,
  },
  {
    name: 'setAcl -R',
    setup: async (client) => {
      await tree(client);
      await client.create('/t/locked', 'x', { acl: [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }] });
    },
    steps: [['setAcl', '-R', '/t', 'world:anyone:cdrwa'], ['getAcl', '/t/a/x'], ['getAcl', '/t/locked']],
    reference: true,
  },
  { name: 'setAcl errors', setup: tree, steps: [['setAcl', '/t'], ['setAcl', '/nope', 'world:anyone:r'], ['setAcl', '/t', 'bogus'], ['setAcl', '-R', '/t', 'bogus'], ['setAcl', '/t', 'auth::cdrwa']], reference: true },
  // ---- the other commands ----
  { name: 'addauth', setup: node, steps: [['addauth', 'digest', 'user:secret'], ['addauth', 'digest'], ['addauth']] },
  { name: 'sync', setup: node, steps: [['sync', '/n'], ['sync', '/nope'], ['sync'], ['sync', 'x']], reference: true },
  { name: 'addWatch', setup: node, steps: [['addWatch', '/n'], ['addWatch', '-m', 'persistent', '/n'], ['addWatch', '-m', 'PERSISTENT_RECURSIVE', '/n'], ['addWatch', '-m', 'bogus', '/n'], ['addWatch', '/n', '/m'], ['addWatch'], ['addWatch', '/nope']] },
  { name: 'removewatches', setup: node, steps: [['removewatches', '/n'], ['removewatches', '/n', '-c'], ['removewatches', '/n', '-d', '-l'], ['removewatches', '/n', '-x'], ['removewatches'], ['removewatches', '/n/']], reference: true },
  { name: 'getAllChildrenNumber', setup: tree, steps: [['getAllChildrenNumber', '/t'], ['getAllChildrenNumber', '/t/a/x'], ['getAllChildrenNumber', '/nope'], ['getAllChildrenNumber']], reference: true },
  { name: 'getEphemerals', setup: tree, steps: [['getEphemerals'], ['getEphemerals', '/t'], ['getEphemerals', '-x']], reference: true },
  { name: 'whoami', steps: [['whoami'], ['whoami', 'extra', '-x']], reference: true },
  // ---- quotas ----
  {
    name: 'quotas',
    setup: tree,
    steps: [
      ['listquota', '/t'],
      ['delquota', '/t'],
      ['setquota', '-n', '5', '/t'],
      ['listquota', '/t'],
      ['setquota', '-b', '100', '/t'],
      ['setquota', '-N', '2', '/t'],
      ['listquota', '/t'],
      ['ls', '-R', '/zookeeper'],
      ['delquota', '-n', '/t'],
      ['listquota', '/t'],
      ['delquota', '/t'],
      ['listquota', '/t'],
      ['ls', '-R', '/zookeeper'],
    ],
    reference: true,
  },
  {
    name: 'quota errors',
    setup: tree,
    steps: [
      ['setquota', '/t'],
      ['setquota', '-n', '1', '-b', '2', '/t'],
      ['setquota', '-n', '0', '/t'],
      ['setquota', '-b', '-1', '/t'],
      ['setquota', '-n', 'x', '/t'],
      ['setquota', '-n', '3', '/nope'],
      ['setquota', '-n', '3', '/zookeeper/quota/t'],
      ['setquota', '-n', '3', '/t/a'],
      ['setquota', '-n', '3', '/t'],
      ['setquota', '-n', '3', '/t/a/x'],
      ['delquota', '-n', '-b', '/t'],
      ['delquota', '/t/a'],
      ['listquota', 'relative'],
      ['listquota'],
      ['setquota', '-n', '1', '/'],
    ],
  },
  // ---- the shell's own commands, one-shot ----
  { name: 'shell commands', steps: [['history'], ['redo', '0'], ['redo'], ['printwatches'], ['printwatches', 'off'], ['close'], ['quit'], ['connect']] },
  { name: 'unknown command', steps: [['bogus'], ['Ls', '/']] },
  // ---- read-only, on the server's own nodes: compared as printed, dates and zxids included ----
  { name: 'shared reads', shared: true, steps: [['stat', '/'], ['stat', '/zookeeper'], ['get', '-s', '/zookeeper/config'], ['getAcl', '-s', '/zookeeper/config'], ['ls', '-s', '/zookeeper'], ['delete', '/zookeeper']] },
  { name: 'config', shared: true, steps: [['config'], ['config', '-s'], ['config', '-c'], ['config', '-w', '-c', '-s']], reference: true },
  { name: 'config under a chroot', steps: [['config', '-s'], ['config', '-c']] },
];
