/**
 * A digest of the whole tree, so replicas can be compared (the `hash` word,
 * the simulator's convergence check). As in ZooKeeper's DigestCalculator,
 * each znode contributes a CRC-32 of its path, data and stat, and the tree's
 * digest is the sum of those, independent of traversal order.
 */
import { crc32 } from 'node:zlib';
import { ROOT_NODE, type DataTree } from './data-tree.js';

export function treeDigest(tree: DataTree): number {
  const n = tree.nodes;
  const stat = Buffer.alloc(8 * 6 + 4 * 3);
  let sum = 0;
  const stack: [number, string][] = [[ROOT_NODE, '/']];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
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
    if (data !== null && data !== undefined) crc = crc32(Buffer.from(data, 'latin1'), crc);
    sum += crc32(stat, crc);
    for (const [name, child] of n.children[node] ?? []) stack.push([child, path === '/' ? `/${name}` : `${path}/${name}`]);
  }
  return sum;
}
