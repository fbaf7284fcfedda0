/**
 * zkts/client: a ZooKeeper client for Node.js, for zkts and Apache ZooKeeper
 * alike.
 *
 * ```ts
 * import { ZkClient, CreateMode } from 'zkts/client';
 * const client = await ZkClient.connect('127.0.0.1:2181/app', { sessionTimeoutMs: 10_000 });
 * await client.create('/config', 'v1');
 * const { data } = await client.getData('/config', { watch: (event) => console.log(event) });
 * await client.close();
 * ```
 */
export { ZkClient, type ConnectOptions, type ConnectedInfo, type ZkClientEvents, type ZkClientOptions, type ClientState } from './client.js';
export { PersistentWatch, type PersistentWatchMode } from './persistent-watch.js';
export { ReadTransaction, Transaction, type CreateOpOptions } from './transaction.js';
export { watchOnce, type OneShotWatch } from './watch-once.js';
export {
  ANYONE_ID_UNSAFE,
  AUTH_IDS,
  CREATOR_ALL_ACL,
  OPEN_ACL_UNSAFE,
  Perms,
  READ_ACL_UNSAFE,
  digestAuth,
} from './acl.js';
export { ErrorCode, KeeperError, MultiError, errorName } from './errors.js';
export { parseConnectString, type ParsedConnectString, type ServerAddress } from './connect-string.js';
export { AddWatchMode, CreateMode, EventType, KeeperState, WatcherType } from '../protocol/constants.js';
export type * from './types.js';
