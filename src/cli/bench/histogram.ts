/**
 * A latency histogram in the style of HdrHistogram: values (whole
 * microseconds) fall into log-spaced buckets, 64 per doubling, so any
 * percentile is known to within 1% of its value whatever the range, in a
 * fixed 13 KiB of counts, with O(1) recording and exact merging. Merging is
 * what lets every worker process record its own and the parent combine them.
 *
 * Values below 128 µs get a bucket each; above that a value v with b bits
 * goes to bucket 128 + 64·(b − 8) + (top 7 bits of v − 64).
 */

const SUB_BUCKET_BITS = 7;
const SUB_BUCKETS = 1 << SUB_BUCKET_BITS; // 128
const HALF = SUB_BUCKETS >> 1; // 64 buckets per doubling above SUB_BUCKETS
/** Values are clamped below 2^31 µs (35 minutes): Math.clz32 works on 32-bit integers. */
const MAX_VALUE = 2 ** 31 - 1;
const BUCKETS = SUB_BUCKETS + (31 - SUB_BUCKET_BITS) * HALF;

/** A histogram as sent between processes: only the non-empty buckets. */
export interface HistogramSnapshot {
  /** [bucket index, count] pairs. */
  buckets: [number, number][];
  min: number;
  max: number;
  sum: number;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private sum = 0;
  private minValue = Infinity;
  private maxValue = 0;

  static from(snapshot: HistogramSnapshot): LatencyHistogram {
    const h = new LatencyHistogram();
    h.add(snapshot);
    return h;
  }

  get count(): number {
    return this.total;
  }

  /** Records one value in microseconds (fractions are rounded). */
  record(micros: number): void {
    const v = Math.min(MAX_VALUE, Math.max(0, Math.round(micros)));
    this.counts[bucketOf(v)]!++;
    this.total++;
    this.sum += v;
    if (v < this.minValue) this.minValue = v;
    if (v > this.maxValue) this.maxValue = v;
  }

  /** Adds another histogram's counts (from this process or a snapshot from another). */
  add(other: LatencyHistogram | HistogramSnapshot): void {
    const snapshot = other instanceof LatencyHistogram ? other.snapshot() : other;
    if (snapshot.buckets.length === 0) return; // its min and max of 0 mean nothing
    for (const [bucket, count] of snapshot.buckets) {
      this.counts[bucket]! += count;
      this.total += count;
    }
    this.sum += snapshot.sum;
    this.minValue = Math.min(this.minValue, snapshot.min);
    this.maxValue = Math.max(this.maxValue, snapshot.max);
  }

  snapshot(): HistogramSnapshot {
    const buckets: [number, number][] = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]! > 0) buckets.push([i, this.counts[i]!]);
    return { buckets, min: this.total === 0 ? 0 : this.minValue, max: this.maxValue, sum: this.sum };
  }

  /** The value (µs) at or below which `percent` of the recorded values lie; 0 when empty. */
  percentile(percent: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil((percent / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.maxValue, Math.max(this.minValue, bucketMiddle(i)));
    }
    return this.maxValue;
  }

  get min(): number {
    return this.total === 0 ? 0 : this.minValue;
  }

  get max(): number {
    return this.maxValue;
  }

  get mean(): number {
    return this.total === 0 ? 0 : this.sum / this.total;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.sum = 0;
    this.minValue = Infinity;
    this.maxValue = 0;
  }
}

function bucketOf(v: number): number {
  if (v < SUB_BUCKETS) return v;
  const shift = 32 - Math.clz32(v) - SUB_BUCKET_BITS; // ≥ 1
  return SUB_BUCKETS + (shift - 1) * HALF + ((v >>> shift) - HALF);
}

/** The middle of a bucket's value range: the estimate reported for values in it. */
function bucketMiddle(bucket: number): number {
  if (bucket < SUB_BUCKETS) return bucket;
  const shift = Math.floor((bucket - SUB_BUCKETS) / HALF) + 1;
  const lowest = ((bucket - SUB_BUCKETS) % HALF) + HALF;
  return lowest * 2 ** shift + (2 ** shift - 1) / 2;
}
