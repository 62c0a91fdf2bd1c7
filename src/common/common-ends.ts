/**
 * How many items two sequences share at their start and, after that, at their end: what an edit
 * (or a rewrite) left in place around the part it changed. The two never overlap.
 */
export function commonEnds<T>(a: readonly T[], b: readonly T[]): { head: number; tail: number } {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  return { head, tail };
}
