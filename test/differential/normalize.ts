/**
 * Normalisation of what two servers may legitimately report differently:
 * zxid values, wall-clock times and session ids. Each is replaced by a label
 * given in order of first appearance within one transcript (z0, z1, ...;
 * s0, s1, ...), so that equality between values (czxid == mzxid, the owner
 * of an ephemeral == this client's session) is still compared, and
 * `zxidOrder()` records their relative order. Everything else in a Stat
 * (versions, lengths, child counts) stays exact.
 */
import { createHash } from 'node:crypto';

export type Long = number | bigint;

/** A Stat as every client library reports it, field names as in the wire record. */
export interface AnyStat {
  czxid: Long;
  mzxid: Long;
  ctime: Long;
  mtime: Long;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: Long;
  dataLength: number;
  numChildren: number;
  pzxid: Long;
}

export interface NormalStat {
  czxid: string;
  mzxid: string;
  pzxid: string;
  ctime: string;
  mtime: string;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: string;
  dataLength: number;
  numChildren: number;
}

/** How far a znode time may be from now and still be taken as a real timestamp. */
const PLAUSIBLE_TIME_MS = 24 * 3600 * 1000;

export class Normalizer {
  private readonly zxids = new Map<bigint, string>();
  private readonly sessions = new Map<bigint, string>();
  /** zxid → the time first reported for a node changed by it. */
  private readonly timeOfZxid = new Map<bigint, bigint>();

  /** 0 and −1 are special values and stay as they are; others become z<n>. */
  zxid(value: Long): string {
    const v = BigInt(value);
    if (v === 0n || v === -1n) return String(v);
    return labelOf(this.zxids, v, 'z');
  }

  /** 0 (no session) stays; a session id becomes s<n>. */
  session(value: Long): string {
    const v = BigInt(value);
    if (v === 0n) return '0';
    return labelOf(this.sessions, v, 's');
  }

  /**
   * A ctime or mtime, named after the zxid of the change that set it:
   * "t(z3)". A time of 0 (the system nodes) stays "0". The same zxid must
   * always come with the same time, and the time must be near now; either
   * failure shows up in the label.
   */
  time(value: Long, zxid: Long): string {
    const t = BigInt(value);
    if (t === 0n) return '0';
    const z = BigInt(zxid);
    const label = `t(${this.zxid(z)})`;
    const seen = this.timeOfZxid.get(z);
    if (seen === undefined) this.timeOfZxid.set(z, t);
    else if (seen !== t) return `${label}:inconsistent`;
    const skew = Number(t) - Date.now();
    return Math.abs(skew) > PLAUSIBLE_TIME_MS ? `${label}:implausible` : label;
  }

  stat(stat: AnyStat | null | undefined): NormalStat | null {
    if (stat === null || stat === undefined) return null;
    return {
      czxid: this.zxid(stat.czxid),
      mzxid: this.zxid(stat.mzxid),
      pzxid: this.zxid(stat.pzxid),
      ctime: this.time(stat.ctime, stat.czxid),
      mtime: this.time(stat.mtime, stat.mzxid),
      version: stat.version,
      cversion: stat.cversion,
      aversion: stat.aversion,
      ephemeralOwner: this.session(stat.ephemeralOwner),
      dataLength: stat.dataLength,
      numChildren: stat.numChildren,
    };
  }

  /** The zxid labels seen so far, sorted by their real values: their relative order. */
  zxidOrder(): string[] {
    return [...this.zxids.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, label]) => label);
  }
}

function labelOf(labels: Map<bigint, string>, value: bigint, prefix: string): string {
  let label = labels.get(value);
  if (label === undefined) {
    label = `${prefix}${labels.size}`;
    labels.set(value, label);
  }
  return label;
}

/** Children lists in a stable order: ZooKeeper returns a HashSet's order. */
export function sortedChildren(children: readonly string[] | null | undefined): string[] | null {
  return children === null || children === undefined ? null : [...children].sort();
}

/** Znode data in a JSON-friendly form that keeps null distinct from empty and bytes exact. */
export function dataView(data: Buffer | Uint8Array | null | undefined): string | null {
  if (data === null || data === undefined) return null;
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length > 64) return `${buf.length} bytes, sha1 ${sha1Hex(buf)}`;
  const printable = /^[\x20-\x7e]*$/.test(buf.toString('latin1'));
  return printable ? `"${buf.toString('latin1')}"` : `0x${buf.toString('hex')}`;
}

function sha1Hex(buf: Buffer): string {
  return createHash('sha1').update(buf).digest('hex').slice(0, 16);
}
