/**
 * Questions the host asks the panel's page (score the heads, make an export) and their answers,
 * matched by request id. A page that never answers (closed, reloading) does not leave a command
 * hanging: the question times out, or is cancelled when the panel closes.
 */
export class PageAnswers<T> {
  private readonly waiting = new Map<number, (answer: T | undefined) => void>();

  constructor(private readonly timeoutMs = 30_000) {}

  /** Sends the question (`send`) and waits for its answer; undefined when none comes. */
  ask(requestId: number, send: () => void): Promise<T | undefined> {
    this.waiting.get(requestId)?.(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(undefined), this.timeoutMs);
      const done = (answer: T | undefined): void => {
        clearTimeout(timer);
        if (this.waiting.get(requestId) === done) this.waiting.delete(requestId);
        resolve(answer);
      };
      this.waiting.set(requestId, done);
      send();
    });
  }

  answer(requestId: number, answer: T): void {
    this.waiting.get(requestId)?.(answer);
  }

  cancelAll(): void {
    for (const done of [...this.waiting.values()]) done(undefined);
  }
}
