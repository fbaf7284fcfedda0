// The parts of node-zookeeper-client 1.x that test/harness/nzk.ts uses (the
// package ships no types). Longs (zxids, times, session ids) are 8-byte
// big-endian Buffers.
declare module 'node-zookeeper-client' {
  import type { EventEmitter } from 'node:events';
  import type { Socket } from 'node:net';

  namespace zookeeper {
    interface Stat {
      czxid: Buffer;
      mzxid: Buffer;
      ctime: Buffer;
      mtime: Buffer;
      version: number;
      cversion: number;
      aversion: number;
      ephemeralOwner: Buffer;
      dataLength: number;
      numChildren: number;
      pzxid: Buffer;
    }

    /** A library error: `name` is the code's name, e.g. 'NO_NODE'. */
    interface Exception extends Error {
      code: number;
      path?: string;
    }

    interface Event {
      /** 'NODE_CREATED', 'NODE_DELETED', 'NODE_DATA_CHANGED' or 'NODE_CHILDREN_CHANGED'. */
      getName(): string;
      getPath(): string;
    }

    interface State {
      name: string;
      code: number;
    }

    type Watcher = (event: Event) => void;

    interface TransactionResult {
      /** Op code: 1 create, 2 delete, 5 setData, 13 check, -1 error. */
      type: number;
      path?: string;
      stat?: Stat;
      err?: number;
    }

    interface Transaction {
      /** Queued ops; the library writes -1 for a version of 0, which nzk.ts corrects here. */
      ops: Array<{ version?: number }>;
      create(path: string, data: Buffer | undefined, mode: number): Transaction;
      check(path: string, version: number): Transaction;
      setData(path: string, data: Buffer, version: number): Transaction;
      remove(path: string, version: number): Transaction;
      commit(callback: (error: Exception | null | undefined, results: TransactionResult[]) => void): void;
    }

    /** Internal, used only to stop reconnecting when the server is gone at close time. */
    interface ConnectionManager {
      connect(): void;
      socket?: Socket;
      connectTimeoutHandler?: NodeJS.Timeout;
    }

    interface ClientOptions {
      sessionTimeout?: number;
      spinDelay?: number;
      retries?: number;
    }

    interface Client extends EventEmitter {
      connectionManager: ConnectionManager;
      connect(): void;
      close(): void;
      getState(): State;
      getSessionId(): Buffer;
      create(path: string, data: Buffer | undefined, mode: number, callback: (error: Exception | null, path: string) => void): void;
      remove(path: string, version: number, callback: (error: Exception | null) => void): void;
      setData(path: string, data: Buffer, version: number, callback: (error: Exception | null, stat: Stat) => void): void;
      getData(path: string, watcher: Watcher | undefined, callback: (error: Exception | null, data: Buffer | undefined, stat: Stat) => void): void;
      exists(path: string, watcher: Watcher | undefined, callback: (error: Exception | null, stat: Stat | null) => void): void;
      getChildren(path: string, watcher: Watcher | undefined, callback: (error: Exception | null, children: string[], stat: Stat) => void): void;
      transaction(): Transaction;
    }

    function createClient(connectionString: string, options?: ClientOptions): Client;

    const CreateMode: {
      PERSISTENT: 0;
      EPHEMERAL: 1;
      PERSISTENT_SEQUENTIAL: 2;
      EPHEMERAL_SEQUENTIAL: 3;
    };

    const State: {
      DISCONNECTED: State;
      SYNC_CONNECTED: State;
      EXPIRED: State;
    };
  }

  export = zookeeper;
}
