/**
 * Re-arming watches on a new connection: the registry's paths go to the
 * server in setWatches2 requests (xid −8) relative to the last zxid the
 * client saw, so a watch whose node changed meanwhile fires at once. Like the
 * Java client (ClientCnxn's SET_WATCHES_MAX_LENGTH) the paths are split into
 * batches, here so that each request frame stays within 128 KiB, far below
 * the server's 1 MB packet limit.
 */
import type { SetWatches2 } from '../protocol/records.js';
import type { WatchSnapshot } from './watch-registry.js';

export const SET_WATCHES_MAX_BYTES = 128 * 1024;

/** Length prefix, RequestHeader, relativeZxid and the five vector counts. */
const FIXED_BYTES = 4 + 8 + 8 + 5 * 4;

/** Splits the watched (server) paths into setWatches2 records whose frames stay within `maxBytes`. */
export function setWatchesBatches(
  relativeZxid: number,
  watches: WatchSnapshot,
  maxBytes: number = SET_WATCHES_MAX_BYTES,
): SetWatches2[] {
  const batches: SetWatches2[] = [];
  let batch = emptyBatch(relativeZxid);
  let size = FIXED_BYTES;
  let count = 0;
  const vectors: [string[], keyof WatchSnapshot][] = [
    [watches.data, 'data'],
    [watches.exist, 'exist'],
    [watches.child, 'child'],
    [watches.persistent, 'persistent'],
    [watches.persistentRecursive, 'persistentRecursive'],
  ];
  for (const [paths, kind] of vectors) {
    for (const path of paths) {
      const cost = 4 + Buffer.byteLength(path, 'utf8');
      if (count > 0 && size + cost > maxBytes) {
        batches.push(batch);
        batch = emptyBatch(relativeZxid);
        size = FIXED_BYTES;
        count = 0;
      }
      vectorOf(batch, kind).push(path);
      size += cost;
      count++;
    }
  }
  if (count > 0) batches.push(batch);
  return batches;
}

function emptyBatch(relativeZxid: number): SetWatches2 {
  return {
    relativeZxid,
    dataWatches: [],
    existWatches: [],
    childWatches: [],
    persistentWatches: [],
    persistentRecursiveWatches: [],
  };
}

function vectorOf(batch: SetWatches2, kind: keyof WatchSnapshot): string[] {
  switch (kind) {
    case 'data':
      return batch.dataWatches;
    case 'exist':
      return batch.existWatches;
    case 'child':
      return batch.childWatches;
    case 'persistent':
      return batch.persistentWatches;
    case 'persistentRecursive':
      return batch.persistentRecursiveWatches;
  }
}
