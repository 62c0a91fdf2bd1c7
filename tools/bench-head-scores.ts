import { AttentionStore } from '../src/common/attention-store';
import { allHeadScores } from '../src/common/head-scores';
import { allThumbnails, gridGeometry } from '../src/common/model-grid';
import { rollout } from '../src/common/rollout';
import { timeRuns } from './bench-timing';

/** Softmax rows of random scores, causal or not: what a real head's rows look like to the arithmetic. */
function randomStore(layers: number, heads: number, t: number, causal: boolean, seed: number): AttentionStore {
  let s = seed;
  const rand = (): number => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 4;
  const data = Array.from({ length: layers }, () => {
    const a = new Float32Array(heads * t * t);
    for (let h = 0; h < heads; h++) {
      for (let q = 0; q < t; q++) {
        const row = a.subarray((h * t + q) * t, (h * t + q + 1) * t);
        const n = causal ? q + 1 : t;
        let sum = 0;
        for (let k = 0; k < n; k++) sum += row[k] = Math.exp(rand());
        for (let k = 0; k < n; k++) row[k] /= sum;
      }
    }
    return a;
  });
  return new AttentionStore([{ start: 0, length: t, layers: data }], layers, heads);
}

/** Median ms of `runs` runs after the benchmark's usual warm-up (V8 tiers the loops up over the first runs). */
const time = async (f: () => unknown, runs: number): Promise<number> =>
  (await timeRuns(async () => f(), 0, runs)).medianMs;

/**
 * The head finder's scores for every head, and the rollout, in Node (the same code the panel and
 * the CLI run), against the target of 200 ms for all heads.
 */
export async function benchHeadScores(): Promise<void> {
  console.log('');
  console.log(
    '### the head finder: every head scored (median of 5), the model view’s pictures of every head (median of 5) and the rollout (median of 3), each after two warm-up runs',
  );
  console.log('');
  console.log(
    '| model shape | tokens | all heads scored | ÷ 200 ms target | one pass summing every weight (the floor) | scores ÷ floor | model view pictures (cells per side) | rollout, all layers |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const cases = [
    { name: 'bundled (4 layers × 8 heads, causal)', layers: 4, heads: 8, t: 256, causal: true },
    { name: 'BERT-base (12 × 12, full)', layers: 12, heads: 12, t: 512, causal: false },
    { name: 'BERT-base (12 × 12, full)', layers: 12, heads: 12, t: 1024, causal: false },
  ];
  for (const c of cases) {
    const store = randomStore(c.layers, c.heads, c.t, c.causal, 42);
    const ids = Array.from({ length: c.t }, (_, i) => (i * 7919) % 500);
    const scores = await time(() => allHeadScores(store, ids), 5);
    const floor = await time(() => {
      let sum = 0;
      for (const layer of store.windows[0].layers) for (let i = 0; i < layer.length; i++) sum += layer[i];
      return sum;
    }, 5);
    // The panel's grid at its widest (1,000 px) on a display of one device pixel per CSS pixel.
    const cells = Math.min(c.t, gridGeometry(c.layers, c.heads, 1000).thumb);
    const pictures = await time(() => allThumbnails(store, cells), 5);
    const rolled = await time(() => rollout(store), 3);
    console.log(
      `| ${c.name} | ${c.t} | ${scores.toFixed(0)} ms | ${(scores / 200).toFixed(2)}× | ${floor.toFixed(0)} ms | ${(scores / floor).toFixed(1)}× | ${pictures.toFixed(0)} ms (${cells}) | ${rolled.toFixed(0)} ms |`,
    );
  }
}
