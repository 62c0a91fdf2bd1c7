/** How the benchmark times a run, the same on both sides (the page and the reference process). */

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Times `run`: first a warm-up of at least two runs and `warmupMs` (V8 tiers WebAssembly up over
 * a session's first runs, which are several times slower than the steady state a user meets
 * from the second analysis on), then `runs` timed runs. Returns the first run's time, the
 * median, and the last run's result.
 */
export async function timeRuns<T>(
  run: () => Promise<T>,
  warmupMs: number,
  runs: number,
): Promise<{ firstMs: number; medianMs: number; last: T }> {
  let firstMs = 0;
  let last = undefined as T;
  for (let w = 0, s0 = performance.now(); w < 2 || performance.now() - s0 < warmupMs; w++) {
    const r0 = performance.now();
    last = await run();
    if (w === 0) firstMs = performance.now() - r0;
  }
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const r0 = performance.now();
    last = await run();
    times.push(performance.now() - r0);
  }
  return { firstMs, medianMs: median(times), last };
}
