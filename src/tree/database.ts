/**
 * ZkDatabase: the replicated state machine — the data tree plus the global
 * session table — and `apply`, which advances it by one committed
 * transaction. Apply is deterministic: it reads nothing but the txn.
 */
import { OpCode } from '../protocol/constants.js';
import { ErrorCode, KeeperError } from '../protocol/errors.js';
import { parentOf } from '../protocol/paths.js';
import type { Stat } from '../protocol/records.js';
import type { Txn, TxnBody } from '../protocol/txn.js';
import { DataTree, type DataTreeOptions } from './data-tree.js';
import { CONTAINER_OWNER, PERSISTENT_OWNER, ttlOwner } from './ephemeral-owner.js';

export interface SessionRecord {
  readonly id: bigint;
  readonly timeoutMs: number;
  readonly password: Buffer;
}

/** The outcome of applying one (sub-)transaction (ProcessTxnResult). */
export interface TxnResult {
  /** The txn type; `error` for a failed op. */
  type: number;
  err: number;
  path: string;
  /** The node's Stat after the change, for creates of type create2/TTL/container, setData and setACL. */
  stat: Stat | null;
  /** Per-op results of a multi. */
  multi: TxnResult[] | null;
}

export class ZkDatabase {
  private currentTree: DataTree;
  readonly sessions = new Map<bigint, SessionRecord>();

  constructor(options: DataTreeOptions, tree?: DataTree) {
    this.currentTree = tree ?? new DataTree(options);
  }

  get tree(): DataTree {
    return this.currentTree;
  }

  /**
   * Takes over another database's state (after a TRUNC or a snapshot from a
   * leader rebuilt it). Watches live in the tree, so this drops them: it is
   * done only while no client is served.
   */
  replaceWith(other: ZkDatabase): void {
    this.currentTree = other.currentTree;
    this.sessions.clear();
    for (const [id, session] of other.sessions) this.sessions.set(id, session);
  }

  get lastZxid(): number {
    return this.tree.lastProcessedZxid;
  }

  /** Applies a committed transaction and records its zxid as processed. */
  apply(txn: Txn): TxnResult {
    const result = this.applyBody(txn, txn.body);
    if (txn.zxid > this.tree.lastProcessedZxid) {
      this.tree.lastProcessedZxid = txn.zxid;
      this.tree.recordDigest(txn.zxid);
    }
    return result;
  }

  private applyBody(txn: Txn, body: TxnBody): TxnResult {
    const result: TxnResult = { type: body.type, err: ErrorCode.Ok, path: '', stat: null, multi: null };
    try {
      this.applyChange(txn, body, result);
    } catch (e) {
      if (!(e instanceof KeeperError)) throw e;
      result.err = e.code;
      this.repairReplayedCreate(txn, body, result);
    }
    return result;
  }

  /**
   * When a log replayed over a fuzzy snapshot re-creates a node the snapshot
   * already holds, the parent must still reach the txn's cversion and pzxid
   * (DataTree.processTxn does the same).
   */
  private repairReplayedCreate(txn: Txn, body: TxnBody, result: TxnResult): void {
    if (body.type !== OpCode.create || result.err !== ErrorCode.NodeExists) return;
    try {
      this.tree.advanceCVersion(parentOf(body.create.path), body.create.parentCVersion, txn.zxid);
    } catch (e) {
      if (!(e instanceof KeeperError)) throw e;
      result.err = e.code;
    }
  }

  private applyChange(txn: Txn, body: TxnBody, result: TxnResult): void {
    const tree = this.tree;
    switch (body.type) {
      case OpCode.create:
      case OpCode.create2: {
        const c = body.create;
        result.path = c.path;
        const owner = c.ephemeral ? txn.clientId : PERSISTENT_OWNER;
        const node = tree.createNode(c.path, c.data, c.acl, owner, c.parentCVersion, txn.zxid, txn.time);
        if (body.type === OpCode.create2) result.stat = tree.statOf(node);
        return;
      }
      case OpCode.createContainer: {
        const c = body.createContainer;
        result.path = c.path;
        const node = tree.createNode(c.path, c.data, c.acl, CONTAINER_OWNER, c.parentCVersion, txn.zxid, txn.time);
        result.stat = tree.statOf(node);
        return;
      }
      case OpCode.createTTL: {
        const c = body.createTTL;
        result.path = c.path;
        const node = tree.createNode(c.path, c.data, c.acl, ttlOwner(c.ttl), c.parentCVersion, txn.zxid, txn.time);
        result.stat = tree.statOf(node);
        return;
      }
      case OpCode.delete:
      case OpCode.deleteContainer:
        result.path = body.delete.path;
        tree.deleteNode(body.delete.path, txn.zxid);
        return;
      case OpCode.setData: {
        const s = body.setData;
        result.path = s.path;
        result.stat = tree.statOf(tree.setData(s.path, s.data, s.version, txn.zxid, txn.time));
        return;
      }
      case OpCode.setACL: {
        const s = body.setACL;
        result.path = s.path;
        result.stat = tree.statOf(tree.setAcl(s.path, s.acl, s.version));
        return;
      }
      case OpCode.check:
        result.path = body.check.path;
        return;
      case OpCode.error:
        result.err = body.error.err;
        return;
      case OpCode.createSession: {
        const s = body.createSession;
        this.sessions.set(txn.clientId, {
          id: txn.clientId,
          timeoutMs: s.timeOut,
          password: Buffer.from(s.passwd ?? Buffer.alloc(0)),
        });
        return;
      }
      case OpCode.closeSession:
        this.sessions.delete(txn.clientId);
        tree.killSession(txn.clientId, txn.zxid, body.closeSession.paths2Delete);
        return;
      case OpCode.multi:
        this.applyMulti(txn, body.ops, result);
        return;
    }
  }

  /**
   * A multi is one transaction. If any op failed at prepare time, nothing is
   * applied: ops before the failure report Ok, the failed op its own error,
   * and ops after it RuntimeInconsistency (DataTree.processTxn).
   */
  private applyMulti(txn: Txn, ops: readonly TxnBody[], result: TxnResult): void {
    const failed = ops.some((op) => op.type === OpCode.error);
    let afterFailure = false;
    result.multi = ops.map((op) => {
      if (failed) {
        if (op.type === OpCode.error) {
          afterFailure = true;
          return this.applyBody(txn, op);
        }
        const err = afterFailure ? ErrorCode.RuntimeInconsistency : ErrorCode.Ok;
        return this.applyBody(txn, { type: OpCode.error, error: { err } });
      }
      return this.applyBody(txn, op);
    });
    const firstError = result.multi.find((r) => r.err !== ErrorCode.Ok);
    if (firstError !== undefined) result.err = firstError.err;
  }
}
