/** Server-wide request counters, as srvr/stat/mntr report them. */

export class ServerStats {
  packetsReceived = 0;
  packetsSent = 0;
  requestsCompleted = 0;
  private latencyTotalMs = 0;
  private latencyMinMs = Number.MAX_SAFE_INTEGER;
  private latencyMaxMs = 0;

  recordLatency(ms: number): void {
    this.requestsCompleted++;
    this.latencyTotalMs += ms;
    if (ms < this.latencyMinMs) this.latencyMinMs = ms;
    if (ms > this.latencyMaxMs) this.latencyMaxMs = ms;
  }

  get minLatencyMs(): number {
    return this.requestsCompleted === 0 ? 0 : this.latencyMinMs;
  }

  get maxLatencyMs(): number {
    return this.latencyMaxMs;
  }

  get avgLatencyMs(): number {
    return this.requestsCompleted === 0 ? 0 : this.latencyTotalMs / this.requestsCompleted;
  }

  /** srst: zero the counters. */
  reset(): void {
    this.packetsReceived = 0;
    this.packetsSent = 0;
    this.requestsCompleted = 0;
    this.latencyTotalMs = 0;
    this.latencyMinMs = Number.MAX_SAFE_INTEGER;
    this.latencyMaxMs = 0;
  }
}
