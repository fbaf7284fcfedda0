/**
 * Allocates TCP ports for test servers on 127.0.0.1.
 *
 * Ports come from a random base in [20000, 60000) so that test files running
 * in parallel processes rarely collide; each port is verified free by binding
 * it on 127.0.0.1, and a port is never handed out twice in one process. There
 * is still a window between the check and the server's own bind, so server
 * launchers retry on "address in use".
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const LOWEST_PORT = 20000;
const HIGHEST_PORT = 60000; // exclusive
/** How far past a random base to scan before choosing a new base. */
const SCAN_WINDOW = 64;
const MAX_BASES = 50;

const handedOut = new Set<number>();

/**
 * Returns `count` distinct free ports, as close together as the free ports
 * allow (usually consecutive).
 */
export async function allocatePorts(count: number): Promise<number[]> {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`allocatePorts: bad count ${count}`);
  for (let attempt = 0; attempt < MAX_BASES; attempt++) {
    const base = randomBase(count);
    const ports: number[] = [];
    for (let port = base; port < base + SCAN_WINDOW + count && port < HIGHEST_PORT; port++) {
      if (handedOut.has(port) || !(await isFree(port))) continue;
      ports.push(port);
      if (ports.length === count) {
        for (const p of ports) handedOut.add(p);
        return ports;
      }
    }
  }
  throw new Error(`allocatePorts: no ${count} free ports found on 127.0.0.1`);
}

/** True when 127.0.0.1:port can be bound right now. */
export function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

function randomBase(count: number): number {
  const ranges = usableRanges(count);
  const total = ranges.reduce((sum, [lo, hi]) => sum + (hi - lo), 0);
  let pick = Math.floor(Math.random() * total);
  for (const [lo, hi] of ranges) {
    if (pick < hi - lo) return lo + pick;
    pick -= hi - lo;
  }
  throw new Error('unreachable: pick exceeds total range');
}

/**
 * The part of [LOWEST_PORT, HIGHEST_PORT) outside the kernel's ephemeral range,
 * as [lo, hi) pairs leaving room for `count` ports. Ports in the ephemeral range
 * can be taken at any moment by an outgoing connection (every client in a test
 * opens some), which would make a checked-free port busy again before use.
 */
function usableRanges(count: number): Array<[number, number]> {
  const whole: Array<[number, number]> = [[LOWEST_PORT, HIGHEST_PORT - count]];
  const ephemeral = ephemeralRange();
  if (ephemeral === undefined) return whole;
  const [ephLo, ephHi] = ephemeral;
  const ranges: Array<[number, number]> = [];
  if (ephLo - count - SCAN_WINDOW > LOWEST_PORT) ranges.push([LOWEST_PORT, ephLo - count - SCAN_WINDOW]);
  if (ephHi + 1 < HIGHEST_PORT - count) ranges.push([ephHi + 1, HIGHEST_PORT - count]);
  return ranges.length > 0 ? ranges : whole;
}

function ephemeralRange(): [number, number] | undefined {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo === undefined || hi === undefined || !Number.isInteger(lo) || !Number.isInteger(hi)) return undefined;
    return [lo, hi];
  } catch {
    return undefined;
  }
}
