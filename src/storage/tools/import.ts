/**
 * `zkts import <zookeeper-dataDir> [--dataLogDir dir] --to <zkts-dataDir>`:
 * converts Apache ZooKeeper's own data (version-2 snapshots and txn logs)
 * into a zkts data directory holding the same tree, ACLs, sessions and
 * zxids — the way ZooKeeper itself would load it at start:
 *   1. the newest snapshot that reads back intact (older ones are the
 *      fallback, as in FileSnap.deserialize);
 *   2. every logged transaction after its zxid, in order, converted to the
 *      zkts Txn and applied (replaying over a fuzzy snapshot, as ZooKeeper
 *      does);
 *   3. one zkts snapshot of the result, at the final zxid, in <to>/zkts.
 * Sessions keep their ids and timeouts, and get the passwords ZooKeeper gave
 * them, so clients of the old server can reconnect to zkts before their
 * sessions expire.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, KeeperError } from '../../protocol/errors.js';
import type { ACL } from '../../protocol/records.js';
import { OPEN_ACL_UNSAFE } from '../../tree/acl.js';
import { DataTree } from '../../tree/data-tree.js';
import { ZkDatabase } from '../../tree/database.js';
import { ensureDir, snapshotFileName, storageDir } from '../files.js';
import { zkSessionPassword } from '../java-random.js';
import { captureSnapshot, writeSnapshot } from '../snapshot.js';
import {
  ZK_OPEN_ACL_ID,
  ZkFormatError,
  listZkLogs,
  listZkSnapshots,
  readZkLog,
  readZkSnapshot,
  zkLogsAfter,
  zkVersionDir,
  type ZkSnapshot,
} from '../zk-format.js';
import { hexZxid, type ToolOutput } from './describe.js';
import { zxidFollows } from '../../protocol/zxid.js';

/** Imported TTL nodes must be recognised as such while the tree is built. */
const TREE_OPTIONS = { extendedTypesEnabled: true };

/** Why an import cannot be done (bad arguments, or data ZooKeeper itself could not load). */
export class ImportError extends Error {
  override name = 'ImportError';
}

export interface ImportOptions {
  zkDataDir: string;
  /** ZooKeeper's dataLogDir when it differs from its dataDir. */
  zkDataLogDir?: string;
  /** The zkts data directory to create; its `zkts` storage directory must be empty or absent. */
  to: string;
}

export interface ImportResult {
  /** The ZooKeeper snapshot loaded, or null when there was none (the log is replayed over an empty tree). */
  snapshotFile: string | null;
  snapshotZxid: number;
  logFiles: number;
  replayedTxns: number;
  zxid: number;
  znodes: number;
  ephemerals: number;
  containers: number;
  ttls: number;
  aclLists: number;
  sessions: number;
  /** The zkts snapshot written. */
  output: string;
  warnings: string[];
}

function isNonEmptyDir(dir: string): boolean {
  try {
    return readdirSync(dir).length > 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** The JSON form AclCache interns lists by, so equal lists get one reference. */
function aclKey(acl: readonly ACL[]): string {
  return JSON.stringify(acl.map((entry) => [entry.perms, entry.id.scheme, entry.id.id]));
}

/**
 * Puts the ACL lists the snapshot's nodes use into the tree's cache and
 * returns ZooKeeper's ACL id → zkts reference. Lists no node uses are left
 * out (ZooKeeper purges them on load too).
 */
function restoreAcls(snapshot: ZkSnapshot, tree: DataTree): Map<number, number> {
  const refs = new Map<number, number>();
  const refByKey = new Map<string, number>();
  for (const { aclId, path } of snapshot.nodes) {
    if (refs.has(aclId)) continue;
    const acl = aclId === ZK_OPEN_ACL_ID ? OPEN_ACL_UNSAFE : snapshot.acls.get(aclId);
    if (acl === undefined) throw new ZkFormatError(snapshot.file, 0, `znode '${path || '/'}' refers to ACL id ${aclId}, which the snapshot does not hold`);
    const key = aclKey(acl);
    let ref = refByKey.get(key);
    if (ref === undefined) {
      ref = refByKey.size;
      refByKey.set(key, ref);
      tree.acls.restore(ref, acl);
    }
    refs.set(aclId, ref);
  }
  return refs;
}

/** Builds the database a ZooKeeper snapshot describes. */
function databaseFromSnapshot(snapshot: ZkSnapshot): ZkDatabase {
  const tree = DataTree.blank(TREE_OPTIONS);
  const aclRefs = restoreAcls(snapshot, tree);
  const ids = new Map<string, number>();
  try {
    snapshot.nodes.forEach((node, id) => {
      const slash = node.path.lastIndexOf('/');
      const parent = slash === -1 ? -1 : ids.get(node.path.slice(0, slash));
      if (parent === undefined) throw new ZkFormatError(snapshot.file, 0, `znode ${node.path} comes before its parent`);
      const s = node.stat;
      tree.restoreNode(id, parent, Buffer.from(node.path.slice(slash + 1), 'utf8'), node.data, {
        czxid: s.czxid,
        mzxid: s.mzxid,
        pzxid: s.pzxid,
        ctime: s.ctime,
        mtime: s.mtime,
        version: s.version,
        // Both keep the number of children created here (DataNode.copyStat derives what clients see).
        cversion: s.cversion,
        aversion: s.aversion,
        owner: s.ephemeralOwner,
        aclRef: aclRefs.get(node.aclId)!,
      });
      ids.set(node.path, id);
    });
  } catch (e) {
    if (e instanceof KeeperError && e.code === ErrorCode.DataInconsistency) {
      throw new ZkFormatError(snapshot.file, 0, `the snapshot's tree is inconsistent: ${e.message}`);
    }
    throw e;
  }
  if (!ids.has('')) throw new ZkFormatError(snapshot.file, 0, 'the snapshot has no root znode');
  tree.finishRestore(snapshot.zxid);
  const db = new ZkDatabase(TREE_OPTIONS, tree);
  for (const s of snapshot.sessions) db.sessions.set(s.id, { id: s.id, timeoutMs: s.timeoutMs, password: zkSessionPassword(s.id) });
  return db;
}

/** The newest snapshot that loads; older ones are tried when a newer one is damaged. */
function loadNewestSnapshot(versionDir: string, warnings: string[]): { db: ZkDatabase; file: string | null } {
  const snapshots = listZkSnapshots(versionDir).reverse();
  if (snapshots.length === 0) {
    // ZooKeeper writes snapshot.0 when it first starts, so this is unusual: start from its initial tree.
    warnings.push(`no ZooKeeper snapshot in ${versionDir}: replaying the whole log over an empty tree`);
    return { db: new ZkDatabase(TREE_OPTIONS), file: null };
  }
  for (const file of snapshots) {
    try {
      return { db: databaseFromSnapshot(readZkSnapshot(file)), file: file.path };
    } catch (e) {
      if (!(e instanceof ZkFormatError)) throw e;
      warnings.push(`skipped damaged snapshot: ${e.message}`);
    }
  }
  throw new ImportError(`no intact ZooKeeper snapshot in ${versionDir} (ZooKeeper could not start from it either)`);
}

/** Applies every logged transaction after the database's zxid; returns how many and from how many files. */
function replayLogs(db: ZkDatabase, versionDir: string, warnings: string[]): { txns: number; files: number } {
  const logs = zkLogsAfter(listZkLogs(versionDir), db.lastZxid);
  let txns = 0;
  let previous = db.lastZxid;
  for (const log of logs) {
    const scan = readZkLog(log.path);
    for (const { txn, offset } of scan.entries) {
      if (txn.zxid <= previous) continue;
      if (!zxidFollows(previous, txn.zxid)) {
        throw new ImportError(
          `${log.path} at offset ${offset}: zxid ${hexZxid(txn.zxid)} does not follow ${hexZxid(previous)}: ` +
            'the ZooKeeper log is missing transactions',
        );
      }
      db.apply(txn);
      previous = txn.zxid;
      txns++;
    }
    if (scan.torn !== null) {
      warnings.push(`${log.path} ends in a partial entry at offset ${scan.torn.offset} (${scan.torn.reason}); ZooKeeper ignores it too`);
    }
  }
  return { txns, files: logs.length };
}

/** Converts the ZooKeeper data and writes the zkts snapshot. */
export async function importZooKeeper(options: ImportOptions): Promise<ImportResult> {
  const snapshotDir = zkVersionDir(options.zkDataDir);
  const logDir = zkVersionDir(options.zkDataLogDir ?? options.zkDataDir);
  for (const dir of new Set([snapshotDir, logDir])) {
    if (!existsSync(dir)) throw new ImportError(`${dir} does not exist: not an Apache ZooKeeper data directory`);
  }
  const target = storageDir(options.to);
  if (isNonEmptyDir(target)) throw new ImportError(`${target} is not empty: zkts import writes only into a new data directory`);
  const warnings: string[] = [];
  const { db, file } = loadNewestSnapshot(snapshotDir, warnings);
  const snapshotZxid = db.lastZxid;
  const replayed = replayLogs(db, logDir, warnings);
  ensureDir(target);
  const output = join(target, snapshotFileName(db.lastZxid));
  await writeSnapshot(captureSnapshot(db), output);
  let ephemerals = 0;
  for (const paths of db.tree.ephemerals.values()) ephemerals += paths.size;
  return {
    snapshotFile: file,
    snapshotZxid,
    logFiles: replayed.files,
    replayedTxns: replayed.txns,
    zxid: db.lastZxid,
    znodes: db.tree.nodeCount,
    ephemerals,
    containers: db.tree.containers.size,
    ttls: db.tree.ttls.size,
    aclLists: db.tree.acls.size,
    sessions: db.sessions.size,
    output,
    warnings,
  };
}

/** Runs the import and prints a summary; returns the exit code. */
export async function runImport(zkDataDir: string, options: { dataLogDir?: string; to: string }, io: ToolOutput): Promise<number> {
  let result: ImportResult;
  try {
    result = await importZooKeeper({ zkDataDir, zkDataLogDir: options.dataLogDir, to: options.to });
  } catch (e) {
    if (!(e instanceof ImportError || e instanceof ZkFormatError)) throw e;
    io.err(`zkts import: ${e.message}`);
    return 1;
  }
  for (const warning of result.warnings) io.err(`warning: ${warning}`);
  if (result.snapshotFile !== null) io.out(`loaded ZooKeeper snapshot ${result.snapshotFile} (zxid ${hexZxid(result.snapshotZxid)})`);
  io.out(`replayed ${result.replayedTxns} transactions from ${result.logFiles} ZooKeeper log files`);
  io.out(
    `wrote ${result.output}: ${result.znodes} znodes (${result.ephemerals} ephemeral, ${result.containers} container, ` +
      `${result.ttls} TTL), ${result.aclLists} ACL lists, ${result.sessions} sessions, zxid ${hexZxid(result.zxid)}`,
  );
  return 0;
}
