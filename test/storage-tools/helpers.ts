/** Shared by the storage tool tests: captured tool output, temp dirs, and a comparable view of a database. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { ToolOutput } from '../../src/storage/tools/describe.js';
import { ROOT_NODE } from '../../src/tree/data-tree.js';
import type { ZkDatabase } from '../../src/tree/database.js';

export interface CapturedOutput extends ToolOutput {
  stdout: string[];
  stderr: string[];
}

export function captureOutput(): CapturedOutput {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (line) => stdout.push(line), err: (line) => stderr.push(line) };
}

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A temp dir removed when the test file ends. */
export function tempDir(prefix = 'zkts-storage-tools-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** What a client can observe of one znode, plus how the tree classifies it. */
export interface NodeView {
  data: string | null;
  stat: Record<string, number | bigint>;
  acl: [number, string, string][];
  owner: bigint;
}

/** Every znode by path, and every session, in a form deepEqual can compare across databases. */
export function databaseView(db: ZkDatabase): { nodes: Map<string, NodeView>; sessions: Map<bigint, { timeoutMs: number; password: string }> } {
  const nodes = new Map<string, NodeView>();
  const stack: [number, string][] = [[ROOT_NODE, '/']];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    nodes.set(path, {
      data: latin1Of(db.tree.dataOf(node)),
      stat: { ...db.tree.statOf(node) },
      acl: db.tree.aclOf(node).map((a) => [a.perms, a.id.scheme, a.id.id]),
      owner: db.tree.ownerOf(node),
    });
    for (const name of db.tree.childrenOf(node)) {
      const child = path === '/' ? `/${name}` : `${path}/${name}`;
      stack.push([db.tree.lookup(child), child]);
    }
  }
  const sessions = new Map([...db.sessions.values()].map((s) => [s.id, { timeoutMs: s.timeoutMs, password: s.password.toString('hex') }]));
  return { nodes, sessions };
}

/** Data as a string of one char per byte, so any bytes compare exactly. */
function latin1Of(data: Uint8Array | null): string | null {
  return data === null ? null : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
}
