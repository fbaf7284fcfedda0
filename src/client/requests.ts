/**
 * Checks and conversions shared by the single operations and the ops of a
 * multi: paths are validated as PathUtils does before anything is sent, data
 * strings become UTF-8 bytes, and a create picks its opcode from its mode.
 */
import { CreateMode, OpCode } from '../protocol/constants.js';
import { ErrorCode, KeeperError } from '../protocol/errors.js';
import { pathProblem } from '../protocol/paths.js';
import type { Encodable } from '../jute/mod.js';
import type { CreateRequest, CreateTTLRequest } from '../protocol/records.js';
import { OPEN_ACL_UNSAFE } from './acl.js';
import { badArguments } from './errors.js';
import type { ACL, CreateModeValue, CreateOptions, Data } from './types.js';

/** The largest TTL a TTL node can have (40 bits of milliseconds, EphemeralType.TTL). */
export const MAX_TTL_MS = 2 ** 40 - 1;

const EMPTY = Buffer.alloc(0);

/** Data as sent: strings as UTF-8 (the jute writer would otherwise take them as latin1); undefined as no bytes. */
export function toBytes(data: Data | undefined): Uint8Array | null {
  if (data === undefined) return EMPTY;
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  return data;
}

/** Throws BadArguments unless `path` is a valid znode path (a sequential create's path gets a suffix, so it may end in "/"). */
export function checkPath(path: string, sequential = false): void {
  if (typeof path !== 'string') throw badArguments(undefined, `path must be a string, not ${typeof path}`);
  const problem = pathProblem(sequential ? `${path}1` : path);
  if (problem !== null) throw badArguments(path, problem);
}

export function checkAcl(path: string, acl: readonly ACL[]): void {
  if (!Array.isArray(acl) || acl.length === 0) throw new KeeperError(ErrorCode.InvalidACL, path, 'an ACL list must not be empty');
}

export function checkVersion(path: string, version: number): void {
  if (!Number.isInteger(version) || version < -1 || version > 0x7fffffff) throw badArguments(path, `bad version ${version}`);
}

export function isSequential(mode: CreateModeValue): boolean {
  return mode === CreateMode.PERSISTENT_SEQUENTIAL || mode === CreateMode.EPHEMERAL_SEQUENTIAL || mode === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL;
}

function isTtlMode(mode: CreateModeValue): boolean {
  return mode === CreateMode.PERSISTENT_WITH_TTL || mode === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL;
}

const KNOWN_MODES = new Set<number>(Object.values(CreateMode));

export type CreateCall =
  | { opcode: typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer; body: Encodable<typeof CreateRequest> }
  | { opcode: typeof OpCode.createTTL; body: Encodable<typeof CreateTTLRequest> };

/**
 * Validates a create and builds its request. Containers and TTL nodes have
 * their own opcodes (whose answers carry a Stat); otherwise `withStat`
 * chooses create2 over create.
 */
export function buildCreate(
  path: string,
  data: Data | undefined,
  options: Pick<CreateOptions, 'mode' | 'acl' | 'ttlMs'>,
  withStat: boolean,
  toServer: (path: string) => string,
): CreateCall {
  const mode = options.mode ?? CreateMode.PERSISTENT;
  if (!KNOWN_MODES.has(mode)) throw badArguments(path, `unknown create mode ${String(mode)}`);
  checkPath(path, isSequential(mode));
  const acl = options.acl ?? OPEN_ACL_UNSAFE;
  checkAcl(path, acl);
  const ttl = options.ttlMs;
  const body = { path: toServer(path), data: toBytes(data), acl, flags: mode };
  if (isTtlMode(mode)) {
    if (ttl === undefined || !Number.isInteger(ttl) || ttl <= 0 || ttl > MAX_TTL_MS) {
      throw badArguments(path, `a TTL node needs a ttlMs in [1, ${MAX_TTL_MS}], not ${String(ttl)}`);
    }
    return { opcode: OpCode.createTTL, body: { ...body, ttl } };
  }
  if (ttl !== undefined) throw badArguments(path, `ttlMs is only valid with the TTL create modes`);
  if (mode === CreateMode.CONTAINER) return { opcode: OpCode.createContainer, body };
  return { opcode: withStat ? OpCode.create2 : OpCode.create, body };
}
