/**
 * The ephemeralOwner field encodes more than a session id (EphemeralType in
 * Apache ZooKeeper): 0 is a persistent node, Long.MIN_VALUE a container, and
 * with extended types enabled a high byte of 0xFF marks a TTL node whose low
 * 40 bits hold the TTL in milliseconds. Anything else is an owning session.
 */

export const PERSISTENT_OWNER = 0n;
export const CONTAINER_OWNER = -0x8000000000000000n;
/** The largest TTL: 40 bits of milliseconds, about 34 years. */
export const MAX_TTL_MS = 0xffffffffff;

const EXTENDED_MASK = -0x100000000000000n; // 0xff00000000000000 as a signed long
const RESERVED_BITS_MASK = 0x00ffff0000000000n;
const FEATURE_VALUE_MASK = 0x000000ffffffffffn;

export const OwnerKind = {
  Persistent: 0,
  Session: 1,
  Container: 2,
  Ttl: 3,
} as const;
export type OwnerKind = (typeof OwnerKind)[keyof typeof OwnerKind];

/** Classifies an ephemeralOwner value. */
export function ownerKind(owner: bigint, extendedTypesEnabled: boolean): OwnerKind {
  if (extendedTypesEnabled && (owner & EXTENDED_MASK) === EXTENDED_MASK && (owner & RESERVED_BITS_MASK) === 0n) {
    return OwnerKind.Ttl;
  }
  if (owner === CONTAINER_OWNER) return OwnerKind.Container;
  return owner === 0n ? OwnerKind.Persistent : OwnerKind.Session;
}

/** True when `ttlMs` is a valid TTL for a TTL node. */
export function isValidTtl(ttlMs: number): boolean {
  return Number.isInteger(ttlMs) && ttlMs > 0 && ttlMs <= MAX_TTL_MS;
}

export function ttlOwner(ttlMs: number): bigint {
  return EXTENDED_MASK | BigInt(ttlMs);
}

export function ttlOfOwner(owner: bigint): number {
  return Number(owner & FEATURE_VALUE_MASK);
}

/** What clients see in Stat.ephemeralOwner: the session for ephemerals, else 0. */
export function clientVisibleOwner(owner: bigint, extendedTypesEnabled: boolean): bigint {
  return ownerKind(owner, extendedTypesEnabled) === OwnerKind.Session ? owner : 0n;
}
