/** A tiny deterministic PRNG so that a failure reproduces from its seed. */
export function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** One to four random edits of `seed`: bit flips, random bytes, truncation, insertion, extreme values, duplicated slices. */
export function mutate(seed: Buffer, rnd: () => number): Buffer {
  let buf = Buffer.from(seed);
  const edits = 1 + (rnd() % 4);
  for (let e = 0; e < edits; e++) {
    const at = buf.length ? rnd() % buf.length : 0;
    switch (rnd() % 6) {
      case 0: // flip a bit
        if (buf.length) buf[at]! ^= 1 << (rnd() % 8);
        break;
      case 1: // set a random byte
        if (buf.length) buf[at] = rnd() & 0xff;
        break;
      case 2: // truncate
        buf = buf.subarray(0, at);
        break;
      case 3: // insert bytes
        buf = Buffer.concat([buf.subarray(0, at), Buffer.from([rnd() & 0xff, rnd() & 0xff]), buf.subarray(at)]);
        break;
      case 4: // extreme length-prefix-like values
        if (buf.length) buf[at] = [0x00, 0x99, 0xff, 0x09, 0x90][rnd() % 5]!;
        break;
      default: // duplicate a slice
        buf = Buffer.concat([buf, buf.subarray(at, at + (rnd() % 16))]);
    }
  }
  return buf;
}
