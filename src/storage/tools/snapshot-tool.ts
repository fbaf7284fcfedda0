/**
 * `zkts snapshot <file>`: prints what a zkts snapshot holds — its header,
 * the sessions, the ACL lists and every znode with its Stat (as clients see
 * it) — readable, or as JSON lines (one object per item, told apart by
 * `kind`) with --json. The snapshot is loaded exactly as recovery loads it,
 * so a checksum failure is reported the same way (exit 1).
 */
import { ROOT_NODE } from '../../tree/data-tree.js';
import type { ZkDatabase } from '../../tree/database.js';
import { OwnerKind, ttlOfOwner } from '../../tree/ephemeral-owner.js';
import { CorruptionError } from '../log-format.js';
import { loadSnapshot, readSnapshotSummary, type SnapshotSummary } from '../snapshot.js';
import { aclJson, dataLength, dataPreview, describeAcl, hexSession, hexZxid, isoTime, type ToolOutput } from './describe.js';

/** A tool shows TTL nodes as such whatever the server's extendedTypesEnabled. */
const LOAD_OPTIONS = { extendedTypesEnabled: true };

/** What kind of node `node` is, beyond its Stat: persistent, an ephemeral's session, container or TTL. */
function ownerOf(db: ZkDatabase, node: number): string {
  const owner = db.tree.ownerOf(node);
  switch (db.tree.ownerKindOf(node)) {
    case OwnerKind.Persistent:
      return 'persistent';
    case OwnerKind.Container:
      return 'container';
    case OwnerKind.Ttl:
      return `ttl ${ttlOfOwner(owner)}ms`;
    case OwnerKind.Session:
      return `ephemeral of ${hexSession(owner)}`;
  }
}

/** Every node id with its path, parents first, children in name order. */
function* nodesInOrder(db: ZkDatabase): Generator<[number, string]> {
  const stack: [number, string][] = [[ROOT_NODE, '/']];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    yield [node, path];
    const names = db.tree.childrenOf(node).sort().reverse();
    const prefix = path === '/' ? '/' : `${path}/`;
    for (const name of names) stack.push([db.tree.lookup(prefix + name), prefix + name]);
  }
}

function printReadable(file: string, summary: SnapshotSummary, db: ZkDatabase, io: ToolOutput): void {
  io.out(
    `${file}: zkts snapshot at zxid ${hexZxid(summary.zxid)}, written ${isoTime(summary.createdAt)}: ` +
      `${summary.sessions} sessions, ${summary.acls} ACL lists, ${summary.nodes} znodes`,
  );
  io.out('sessions:');
  for (const s of db.sessions.values()) io.out(`  ${hexSession(s.id)} timeout ${s.timeoutMs}ms passwd ${s.password.length}B`);
  io.out('ACL lists:');
  for (const { ref, acl } of db.tree.acls.entries()) io.out(`  #${ref} ${describeAcl(acl)}`);
  io.out('znodes:');
  for (const [node, path] of nodesInOrder(db)) {
    const s = db.tree.statOf(node);
    const data = db.tree.dataOf(node);
    io.out(
      `  ${path} czxid=${hexZxid(s.czxid)} mzxid=${hexZxid(s.mzxid)} pzxid=${hexZxid(s.pzxid)} ` +
        `ctime=${isoTime(s.ctime)} mtime=${isoTime(s.mtime)} version=${s.version} cversion=${s.cversion} ` +
        `aversion=${s.aversion} ephemeralOwner=${hexSession(s.ephemeralOwner)} dataLength=${s.dataLength} ` +
        `numChildren=${s.numChildren} ${ownerOf(db, node)} acl=#${db.tree.nodes.aclRef[node]} data=${dataPreview(data)}`,
    );
  }
}

function printJson(file: string, summary: SnapshotSummary, db: ZkDatabase, io: ToolOutput): void {
  io.out(
    JSON.stringify({
      kind: 'snapshot',
      file,
      zxid: hexZxid(summary.zxid),
      createdAt: isoTime(summary.createdAt),
      sessions: summary.sessions,
      acls: summary.acls,
      znodes: summary.nodes,
    }),
  );
  for (const s of db.sessions.values()) {
    io.out(JSON.stringify({ kind: 'session', id: hexSession(s.id), timeoutMs: s.timeoutMs, passwdLength: s.password.length }));
  }
  for (const { ref, acl } of db.tree.acls.entries()) io.out(JSON.stringify({ kind: 'acl', ref, acl: aclJson(acl) }));
  for (const [node, path] of nodesInOrder(db)) {
    const s = db.tree.statOf(node);
    const data = db.tree.dataOf(node);
    io.out(
      JSON.stringify({
        kind: 'znode',
        path,
        czxid: hexZxid(s.czxid),
        mzxid: hexZxid(s.mzxid),
        pzxid: hexZxid(s.pzxid),
        ctime: isoTime(s.ctime),
        mtime: isoTime(s.mtime),
        version: s.version,
        cversion: s.cversion,
        aversion: s.aversion,
        ephemeralOwner: hexSession(s.ephemeralOwner),
        dataLength: dataLength(data),
        numChildren: s.numChildren,
        owner: ownerOf(db, node),
        aclRef: db.tree.nodes.aclRef[node],
        data: dataPreview(data),
      }),
    );
  }
}

/** Prints the snapshot; returns the exit code (0, or 1 if it is damaged or unreadable). */
export function runSnapshotTool(file: string, options: { json: boolean }, io: ToolOutput): number {
  let summary: SnapshotSummary;
  let db: ZkDatabase;
  try {
    summary = readSnapshotSummary(file);
    db = loadSnapshot(file, LOAD_OPTIONS);
  } catch (e) {
    if (e instanceof CorruptionError) io.err(`CORRUPT: ${e.message}`);
    else io.err(`zkts snapshot: cannot read ${file}: ${(e as Error).message}`);
    return 1;
  }
  if (options.json) printJson(file, summary, db, io);
  else printReadable(file, summary, db, io);
  return 0;
}
