/** A one-shot watch as a promise, for the `watch` option of exists, getData and getChildren. */
import type { WatchCallback, WatchEvent } from './types.js';

export interface OneShotWatch {
  /** Pass as `{ watch: w.callback }`. */
  readonly callback: WatchCallback;
  /**
   * The event that ended the watch: the node event, a watch-removed event or
   * a terminal state event (Expired, Closed, AuthFailed). It never rejects.
   */
  readonly event: Promise<WatchEvent>;
}

/**
 * ```ts
 * const changed = watchOnce();
 * const { data } = await client.getData('/config', { watch: changed.callback });
 * const event = await changed.event; // NodeDataChanged, NodeDeleted, ...
 * ```
 */
export function watchOnce(): OneShotWatch {
  let callback!: WatchCallback;
  const event = new Promise<WatchEvent>((resolve) => {
    callback = resolve;
  });
  return { callback, event };
}
