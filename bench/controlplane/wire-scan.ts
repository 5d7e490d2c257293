// Reading the few fields a simulated proxy needs straight from an encoded xDS response, without
// decoding the resources (2,000 simulated proxies must not compete with the control plane for CPU).
// https://protobuf.dev/programming-guides/encoding/

/** Calls fn(field, start, end) for each length-delimited field of buf[start, end); skips the others. */
export function eachField(buf: Buffer, start: number, end: number, fn: (field: number, s: number, e: number) => void): void {
  let i = start;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = buf[i++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
  };
  while (i < end) {
    const tag = varint();
    const wire = tag & 7;
    if (wire === 0) varint();
    else if (wire === 5) i += 4;
    else if (wire === 1) i += 8;
    else if (wire === 2) {
      const len = varint();
      fn(Math.floor(tag / 8), i, i + len);
      i += len;
    } else throw new Error(`unexpected wire type ${wire} in an xDS response`);
  }
}
