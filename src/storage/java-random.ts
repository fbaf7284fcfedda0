/**
 * java.util.Random's linear congruential generator, bit for bit. Apache
 * ZooKeeper derives a session's password from its id with it
 * (`new Random(sessionId ^ 0xB3415C00L).nextBytes(new byte[16])`) and stores
 * only the id; `zkts import` recomputes the password so clients of the old
 * server can resume their sessions on zkts.
 */

const MULTIPLIER = 0x5deece66dn;
const ADDEND = 0xbn;
const SEED_MASK = (1n << 48n) - 1n;

export class JavaRandom {
  private seed: bigint;

  /** As `new java.util.Random(seed)`; `seed` is a Java long (taken modulo 2^64). */
  constructor(seed: bigint) {
    this.seed = (seed ^ MULTIPLIER) & SEED_MASK;
  }

  /** Random.next(bits): the top `bits` bits of the next 48-bit state, as a Java int. */
  private next(bits: number): number {
    this.seed = (this.seed * MULTIPLIER + ADDEND) & SEED_MASK;
    return Number(BigInt.asIntN(32, this.seed >> BigInt(48 - bits)));
  }

  nextInt(): number {
    return this.next(32);
  }

  /** Random.nextBytes: each nextInt() fills up to four bytes, low byte first. */
  nextBytes(length: number): Buffer {
    const bytes = Buffer.alloc(length);
    for (let i = 0; i < length; ) {
      let rnd = this.nextInt();
      for (let n = Math.min(length - i, 4); n-- > 0; rnd >>= 8) bytes[i++] = rnd & 0xff;
    }
    return bytes;
  }
}

/** ZooKeeperServer's `superSecret`, mixed into the seed of every session password. */
const ZK_PASSWORD_SECRET = 0xb3415c00n;
const ZK_PASSWORD_BYTES = 16;

/** The password Apache ZooKeeper gave session `sessionId` (ZooKeeperServer.generatePasswd). */
export function zkSessionPassword(sessionId: bigint): Buffer {
  return new JavaRandom(sessionId ^ ZK_PASSWORD_SECRET).nextBytes(ZK_PASSWORD_BYTES);
}
