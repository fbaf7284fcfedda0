/** The public value types of the client API. */
import type { CreateMode, EventType, KeeperState, WatcherType } from '../protocol/constants.js';
import type { ACL, ClientInfo, Id, Stat } from '../protocol/records.js';

export type { ACL, ClientInfo, Id, Stat };

export type CreateModeValue = (typeof CreateMode)[keyof typeof CreateMode];
export type EventTypeValue = (typeof EventType)[keyof typeof EventType];
export type KeeperStateValue = (typeof KeeperState)[keyof typeof KeeperState];
export type WatcherTypeValue = (typeof WatcherType)[keyof typeof WatcherType];

/** Znode data as given to create/setData: bytes, a UTF-8 string, or null (no data). */
export type Data = Uint8Array | string | null;

/**
 * A watch notification. Node events (type ≠ None) carry the znode's path as
 * the caller sees it (chroot removed); state events (type None) have path ''.
 */
export interface WatchEvent {
  readonly type: EventTypeValue;
  readonly state: KeeperStateValue;
  readonly path: string;
}

export type WatchCallback = (event: WatchEvent) => void;

/** Options every operation takes. */
export interface CallOptions {
  /** Abandons the call: it rejects with the signal's reason. A request already sent may still take effect. */
  signal?: AbortSignal;
  /** Rejects with KeeperError RequestTimeout if no answer came within this many ms. A request already sent may still take effect. */
  timeoutMs?: number;
}

export interface WatchOptions extends CallOptions {
  /**
   * Leaves a one-shot watch: the callback is called exactly once, with the
   * node event, a watch-removed event (removeWatches), or a terminal state
   * event (Expired, Closed or AuthFailed). It is re-armed across reconnects.
   */
  watch?: WatchCallback;
}

export interface VersionOptions extends CallOptions {
  /** The expected version; −1 (the default) matches any. */
  version?: number;
}

export interface CreateOptions extends CallOptions {
  /** Default PERSISTENT. */
  mode?: CreateModeValue;
  /** Default OPEN_ACL_UNSAFE. */
  acl?: readonly ACL[];
  /** Required for the TTL modes, refused for the others. */
  ttlMs?: number;
}

export interface CreateResult {
  /** The created path (with the sequence suffix for sequential modes). */
  path: string;
  stat: Stat;
}

export interface GetDataResult {
  /** null when the znode was created with null data. */
  data: Buffer | null;
  stat: Stat;
}

/** One op of a multi (transaction). */
export type Op =
  | { type: 'create'; path: string; data?: Data; mode?: CreateModeValue; acl?: readonly ACL[]; ttlMs?: number }
  | { type: 'delete'; path: string; version?: number }
  | { type: 'setData'; path: string; data: Data; version?: number }
  | { type: 'check'; path: string; version: number };

/** The result of one op of a committed multi, or of each op of a failed one ('error'). */
export type OpResult =
  | { type: 'create'; path: string; stat: Stat | undefined }
  | { type: 'delete' }
  | { type: 'setData'; stat: Stat }
  | { type: 'check' }
  | { type: 'error'; code: number };

/** One op of a multiRead. */
export type ReadOp = { type: 'getData'; path: string } | { type: 'getChildren'; path: string };

/** The result of one op of a multiRead; a failed op does not fail the others. */
export type ReadResult =
  | { type: 'getData'; data: Buffer | null; stat: Stat }
  | { type: 'getChildren'; children: string[] }
  | { type: 'error'; code: number };
