/**
 * The container and TTL reaper (ZooKeeper's ContainerManager), run by the
 * leader: an empty container that once had children, an empty container
 * never used for longer than maxNeverUsedIntervalMs (if set), and an empty
 * TTL node not modified for longer than its TTL are deleted, through the
 * normal write path, at most maxPerMinute per minute.
 */
import type { DataTree } from '../tree/data-tree.js';
import { ttlOfOwner } from '../tree/ephemeral-owner.js';

/** Paths of containers and TTL nodes due for deletion at wall-clock time `nowMs`. */
export function reapCandidates(tree: DataTree, maxNeverUsedIntervalMs: number, nowMs: number): string[] {
  const candidates: string[] = [];
  const n = tree.nodes;
  for (const path of tree.containers) {
    const node = tree.lookup(path);
    if (node === -1 || tree.numChildren(node) > 0) continue;
    const everUsed = n.cversion[node]! > 0;
    const neverUsedTooLong = maxNeverUsedIntervalMs !== 0 && nowMs - n.mtime[node]! > maxNeverUsedIntervalMs;
    if (everUsed || neverUsedTooLong) candidates.push(path);
  }
  for (const path of tree.ttls) {
    const node = tree.lookup(path);
    if (node === -1 || tree.numChildren(node) > 0) continue;
    const ttl = ttlOfOwner(n.owner[node]!);
    if (ttl !== 0 && nowMs - n.mtime[node]! > ttl) candidates.push(path);
  }
  return candidates;
}
