/** ZooKeeper's ZKUtil, as zkCli's ls -R, setAcl -R, deleteall and setquota use it. */
import { ErrorCode, KeeperError, type Op } from '../../client/mod.js';
import { validatePath, type Zk } from './zk.js';

/**
 * Visits `path` and then the subtree below it: each node's children (sorted)
 * are visited before any of their own children. With `watch`, a data watch
 * is left on `path` and a child watch on every node. A node deleted while
 * this runs is skipped.
 */
export async function visitSubTreeDFS(zk: Zk, path: string, watch: boolean, visit: (path: string) => void | Promise<void>): Promise<void> {
  validatePath(path);
  await zk.getData(path, watch);
  await visit(path);
  await visitChildren(zk, path, watch, visit);
}

async function visitChildren(zk: Zk, path: string, watch: boolean, visit: (path: string) => void | Promise<void>): Promise<void> {
  let children: string[];
  try {
    children = await zk.getChildren(path, watch);
  } catch (error) {
    if (error instanceof KeeperError && error.code === ErrorCode.NoNode) return;
    throw error;
  }
  children.sort();
  const paths = children.map((child) => (path === '/' ? `/${child}` : `${path}/${child}`));
  for (const child of paths) await visit(child);
  for (const child of paths) await visitChildren(zk, child, watch, visit);
}

/** `path` and every node below it, breadth first. */
async function listSubTreeBFS(zk: Zk, path: string): Promise<string[]> {
  const tree = [path];
  for (let i = 0; i < tree.length; i++) {
    const node = tree[i]!;
    for (const child of await zk.getChildren(node, false)) tree.push(node === '/' ? `/${child}` : `${node}/${child}`);
  }
  return tree;
}

/** ZKUtil keeps this many multi requests in flight. */
const BATCHES_IN_FLIGHT = 10;

/**
 * Deletes `path` and its subtree, leaves first, in multi requests of
 * `batchSize` deletes (all in one if batchSize < 1). Returns false if a
 * batch failed; then no further batch is sent, but the ones already sent
 * may have succeeded.
 */
export async function deleteRecursive(zk: Zk, path: string, batchSize: number): Promise<boolean> {
  validatePath(path);
  const tree = await listSubTreeBFS(zk, path);
  let success = true;
  const inFlight = new Set<Promise<void>>();
  let ops: Op[] = [];
  for (let i = tree.length - 1; i >= 0; i--) {
    ops.push({ type: 'delete', path: tree[i]!, version: -1 });
    if (ops.length !== batchSize && i !== 0) continue;
    if (!success) break;
    while (inFlight.size >= BATCHES_IN_FLIGHT) await Promise.race(inFlight);
    const batch: Promise<void> = zk.multi(ops).then(
      () => undefined,
      () => {
        success = false;
      },
    );
    inFlight.add(batch);
    void batch.then(() => inFlight.delete(batch));
    ops = [];
  }
  await Promise.all(inFlight);
  return success;
}
