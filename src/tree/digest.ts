/**
 * The tree digest, so replicas can be compared (the `hash` word, the
 * simulator's convergence check). As in ZooKeeper's DigestCalculator, each
 * znode contributes a hash of its path, data and Stat, and the tree's digest
 * is their sum mod 2^32: independent of traversal order, and kept current by
 * subtracting a node's old share and adding its new one.
 *
 * The hash is computed in plain JavaScript (FNV-1a over the characters, then
 * a multiply-xorshift mix of the Stat fields) rather than with zlib's CRC-32:
 * it runs on every write, and this way it allocates nothing and never
 * encodes a string. Path and data are hashed once, when they are set
 * (NodeTable.contentHash); a Stat-only change just re-mixes the Stat.
 */
import { ROOT_NODE, type DataTree } from './data-tree.js';
import { EMPTY_HASH, hashBytes, hashText } from './fnv.js';
import type { NodeTable } from './node-table.js';

/** The hash of a node's path and data. */
export function contentHashOf(path: string, data: Uint8Array | null): number {
  const pathHash = hashText(EMPTY_HASH, path);
  return data === null ? pathHash : hashBytes(pathHash, data);
}

function mix(h: number, value: number): number {
  h = Math.imul(h ^ value, 0x5bd1e995);
  return h ^ (h >>> 15);
}

/** Mixes an integer-valued double (zxids, times) as its low and high 32 bits. */
function mixLong(h: number, value: number): number {
  return mix(mix(h, value >>> 0), (value / 0x1_0000_0000) | 0);
}

/** One znode's share of the tree digest: its content hash mixed with its Stat. */
export function nodeDigest(n: NodeTable, node: number, contentHash: number): number {
  let h = contentHash;
  h = mixLong(h, n.czxid[node]!);
  h = mixLong(h, n.mzxid[node]!);
  h = mixLong(h, n.pzxid[node]!);
  h = mixLong(h, n.ctime[node]!);
  h = mixLong(h, n.mtime[node]!);
  h = mix(h, n.version[node]!);
  h = mix(h, n.cversion[node]!);
  h = mix(h, n.aversion[node]!);
  const owner = n.owner[node]!;
  if (owner !== 0n) h = mix(mix(h, Number(BigInt.asIntN(32, owner))), Number(owner >> 32n));
  // Final avalanche (MurmurHash3's fmix32), so nearby Stats give unrelated shares.
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The digest computed from scratch, hashing every path and data again (to check the running one). */
export function treeDigest(tree: DataTree): number {
  let sum = 0;
  const stack: [number, string][] = [[ROOT_NODE, '/']];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    sum = (sum + nodeDigest(tree.nodes, node, contentHashOf(path, tree.nodes.dataOf(node)))) >>> 0;
    for (const child of tree.nodes.childIds(node)) {
      const name = tree.nodes.nameOf(child);
      stack.push([child, path === '/' ? `/${name}` : `${path}/${name}`]);
    }
  }
  return sum;
}
