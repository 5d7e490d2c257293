// gRPC messages on the wire: each is a 5-byte prefix (compressed flag, 4-byte big-endian length)
// and its body. Counting them needs only the prefixes, whatever the chunking (a prefix may be split
// across chunks, one chunk may hold many messages); nothing is buffered or decoded.
export class GrpcFrameCounter {
  /** Prefix bytes still to read (5: at a message boundary). */
  private prefixLeft = 5;
  private length = 0;
  /** Body bytes of the current message still to skip. */
  private bodyLeft = 0;

  /** Messages whose prefix completed in this chunk. */
  push(chunk: Uint8Array): number {
    let messages = 0;
    let i = 0;
    while (i < chunk.length) {
      if (this.bodyLeft > 0) {
        const skip = Math.min(this.bodyLeft, chunk.length - i);
        this.bodyLeft -= skip;
        i += skip;
        continue;
      }
      const b = chunk[i++];
      // Byte 0 is the compressed flag; bytes 1-4 the length.
      if (this.prefixLeft <= 4) this.length = this.length * 256 + b;
      if (--this.prefixLeft === 0) {
        messages++;
        this.bodyLeft = this.length;
        this.length = 0;
        this.prefixLeft = 5;
      }
    }
    return messages;
  }
}
