import type { FileErrorMessage, FileMessage, PageFile } from '../src/common/protocol';

interface Waiter {
  resolve: (b: ArrayBuffer) => void;
  reject: (e: Error) => void;
}

/**
 * Files the page asks the host for (`readFile`), and the host's answers (`file`, `fileError`).
 * One request per file however many wait for it.
 */
export class HostFiles {
  private readonly asked = new Map<PageFile, Waiter[]>();

  constructor(private readonly askHost: (file: PageFile) => void) {}

  get(file: PageFile): Promise<ArrayBuffer> {
    return new Promise((resolve, reject) => {
      const list = this.asked.get(file) ?? [];
      if (list.length === 0) this.askHost(file);
      list.push({ resolve, reject });
      this.asked.set(file, list);
    });
  }

  receive(m: FileMessage | FileErrorMessage): void {
    const waiting = this.asked.get(m.file) ?? [];
    this.asked.delete(m.file);
    if (m.type === 'fileError') {
      for (const w of waiting) w.reject(new Error(m.message));
      return;
    }
    const whole = m.data.byteOffset === 0 && m.data.byteLength === m.data.buffer.byteLength;
    // Each waiter gets its own buffer: each transfers it to the worker.
    waiting.forEach((w, i) => w.resolve(i === 0 && whole ? (m.data.buffer as ArrayBuffer) : m.data.slice().buffer));
  }
}
