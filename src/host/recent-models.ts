/** The part of VS Code's `Memento` that the list needs (globalState, or a Map in a test). */
export interface KeyValueStore {
  get<T>(key: string, defaultValue: T): T;
  update(key: string, value: unknown): PromiseLike<void>;
}

const KEY = 'attentionExplorer.recentModels';
const KEEP = 5;

/** The models the user chose lately (paths), newest first, offered again by Choose Model. */
export class RecentModels {
  constructor(private readonly store: KeyValueStore) {}

  list(): string[] {
    const v = this.store.get<unknown>(KEY, []);
    return Array.isArray(v) ? v.filter((p): p is string => typeof p === 'string') : [];
  }

  async add(modelPath: string): Promise<void> {
    await this.store.update(KEY, [modelPath, ...this.list().filter((p) => p !== modelPath)].slice(0, KEEP));
  }

  async removeWhere(gone: (modelPath: string) => boolean): Promise<void> {
    await this.store.update(
      KEY,
      this.list().filter((p) => !gone(p)),
    );
  }
}
