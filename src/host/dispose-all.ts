/** Something that can be disposed: a `vscode.Disposable`, or any object of that shape. */
export interface DisposableLike {
  dispose(): unknown;
}

/**
 * Disposes everything in `list`, last first, and empties it. One disposal that throws does not
 * keep the rest alive: its error is given to `onError` (or dropped).
 */
export function disposeAll(list: DisposableLike[], onError?: (e: unknown) => void): void {
  while (list.length) {
    try {
      list.pop()?.dispose();
    } catch (e) {
      onError?.(e);
    }
  }
}
