// A bound on the response bytes handed to the transport and not yet sent, across all streams.
// Responses to requests (a proxy's first CDS/EDS, a new subscription) do not go through the push
// throttle, and 2,000 proxies connecting at once would otherwise each hold a few hundred KB in
// HTTP/2 buffers while their flow-control windows drain: that peak was 1.2 GiB of RSS.
// One FIFO for everyone keeps each stream's responses in order.

export interface WriteTicket {
  /** Call once the transport is done with the write (sent, failed, or the stream ended). */
  release(): void;
}

export class WriteBudget {
  private inFlight = 0;
  private readonly waiting: Array<{ bytes: number; send: (ticket: WriteTicket) => void }> = [];

  constructor(readonly maxBytes: number) {}

  /** Run `send` now if the budget allows (or nothing else is in flight), else when it does. */
  admit(bytes: number, send: (ticket: WriteTicket) => void): void {
    if (this.waiting.length === 0 && this.fits(bytes)) this.start(bytes, send);
    else this.waiting.push({ bytes, send });
  }

  get bytesInFlight(): number {
    return this.inFlight;
  }

  get queued(): number {
    return this.waiting.length;
  }

  private fits(bytes: number): boolean {
    // A single response larger than the whole budget still goes, alone.
    return this.inFlight === 0 || this.inFlight + bytes <= this.maxBytes;
  }

  private start(bytes: number, send: (ticket: WriteTicket) => void): void {
    this.inFlight += bytes;
    let released = false;
    send({
      release: () => {
        if (released) return;
        released = true;
        this.inFlight -= bytes;
        this.drain();
      },
    });
  }

  private drain(): void {
    while (this.waiting.length && this.fits(this.waiting[0].bytes)) {
      const next = this.waiting.shift()!;
      this.start(next.bytes, next.send);
    }
  }
}
