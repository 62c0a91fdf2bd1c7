/**
 * Deterministic pseudo-random weights for the models the tests and the benchmark build (xorshift32:
 * fast enough for the hundreds of millions of values of a 0.5B-parameter model). One generator
 * hands out floats and bytes from the same sequence, so a build is the same every time.
 */
export function xorshiftWeights(seed: number): {
  /** `n` floats uniform in ±scale. */
  floats(n: number, scale: number): Float32Array;
  /** `n` bytes (4-bit codes packed two to a byte, for quantized weights). */
  bytes(n: number): Uint8Array;
} {
  let x = seed >>> 0;
  return {
    floats(n, scale) {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        out[i] = ((x >>> 0) / 4294967296 - 0.5) * 2 * scale;
      }
      return out;
    },
    bytes(n) {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        out[i] = x & 0xff;
      }
      return out;
    },
  };
}
