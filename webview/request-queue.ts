/**
 * Requests to the engine, one at a time. While one runs, the newest request waits; a newer one
 * replaces it (the replaced one is superseded: no run is spent on text the user has moved away
 * from). Free of the DOM: tested under Node.
 */
export class RequestQueue<R> {
  private inFlight: R | null = null;
  private waiting: R | null = null;

  constructor(
    private readonly run: (r: R) => Promise<void>,
    private readonly superseded: (r: R) => void,
  ) {}

  get busy(): boolean {
    return this.inFlight !== null;
  }

  submit(r: R): void {
    if (this.inFlight !== null) {
      if (this.waiting !== null) this.superseded(this.waiting);
      this.waiting = r;
      return;
    }
    void this.start(r);
  }

  /**
   * For the request in flight, once it may start its run (the model has loaded): true when a
   * newer one is waiting, and then the one in flight is superseded and must not run.
   */
  overtaken(): boolean {
    if (this.waiting === null || this.inFlight === null) return false;
    this.superseded(this.inFlight);
    return true;
  }

  private async start(r: R): Promise<void> {
    this.inFlight = r;
    try {
      await this.run(r);
    } finally {
      this.inFlight = null;
      const next = this.waiting;
      this.waiting = null;
      if (next !== null) void this.start(next);
    }
  }
}
