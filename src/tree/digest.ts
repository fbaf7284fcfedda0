/**
 * The tree digest, so replicas can be compared (the `hash` word, the
 * simulator's convergence check). As in ZooKeeper's DigestCalculator, each
 * znode contributes a CRC-32 of its path, data and stat, and the tree's
 * digest is their sum mod 2^32: independent of traversal order, and kept
 * current by subtracting a node's old digest and adding its new one.
 */
import { crc32 } from 'node:zlib';
import { ROOT_NODE, type DataTree } from './data-tree.js';
import type { NodeTable } from './node-table.js';

const statScratch = Buffer.alloc(8 * 6 + 4 * 3);

/** One znode's digest. Data strings hold bytes as latin1; CRC-32 reads them as UTF-8, consistently on every replica. */
export function nodeDigest(n: NodeTable, node: number, path: string): number {
  const stat = statScratch;
  stat.writeDoubleBE(n.czxid[node]!, 0);
  stat.writeDoubleBE(n.mzxid[node]!, 8);
  stat.writeDoubleBE(n.ctime[node]!, 16);
  stat.writeDoubleBE(n.mtime[node]!, 24);
  stat.writeDoubleBE(n.pzxid[node]!, 32);
  stat.writeBigInt64BE(n.owner[node]!, 40);
  stat.writeInt32BE(n.version[node]!, 48);
  stat.writeInt32BE(n.cversion[node]!, 52);
  stat.writeInt32BE(n.aversion[node]!, 56);
  let crc = crc32(path);
  const data = n.data[node];
  if (data !== null && data !== undefined && data.length > 0) crc = crc32(data, crc);
  return crc32(stat, crc);
}

/** The digest computed from scratch by walking the whole tree. */
export function treeDigest(tree: DataTree): number {
  let sum = 0;
  const stack: [number, string][] = [[ROOT_NODE, '/']];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    sum = (sum + nodeDigest(tree.nodes, node, path)) >>> 0;
    for (const [name, child] of tree.nodes.children[node] ?? []) stack.push([child, path === '/' ? `/${name}` : `${path}/${name}`]);
  }
  return sum;
}
