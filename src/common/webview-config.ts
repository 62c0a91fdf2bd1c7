import type { BackendSetting } from './protocol';

/** Where the page finds the model's and the engine's files, by one way in. */
export interface PageSources {
  /** The graph; external data files are loaded from the same folder. */
  modelUrl: string;
  tokenizerUrl: string;
  configUrl: string | null;
  tokenizerConfigUrl: string | null;
  /**
   * URL prefix (ending in '/') of the page's own folder: the engine's workers and, under ort/,
   * onnxruntime-web's .wasm files.
   */
  engineBase: string;
}

/** What the host puts into the panel's page: where the model, tokenizer and runtime files are. */
export interface WebviewConfig extends PageSources {
  modelName: string;
  /**
   * The same files from the extension host's server on 127.0.0.1 (local-file-server.ts), ten
   * times faster than VS Code's ways in; null where there is none. A page that cannot reach it
   * (a browser on another machine than the extension host) uses the ways above.
   */
  direct: PageSources | null;
  /**
   * Where the page gets the graph and the runtime's WebAssembly: asked of the host (`readFile`,
   * the bytes posted back) or fetched by URL. The host's way was measured the faster in
   * code-server (README, Performance); pages served without a host (the engine tests) fetch.
   */
  bytesFrom: 'host' | 'url';
  /** The graph file's size in bytes (0 when unknown): a large graph is fetched by URL, streamed. */
  modelBytes: number;
  /** SHA-256 of the graph file: the key of its prepared graph in the panel's cache (null: not cached). */
  modelHash: string | null;
  /** Identifies the runtime's WebAssembly files (they are cached under it). */
  runtimeKey: string;
  /** Empty the panel's cache before loading (asked for in Manage Model Cache). */
  clearCache: boolean;
  /** The backend setting at page load, to create the session before the first request. */
  backend: BackendSetting;
  /** Why the page was reloaded, when the host reloaded it to recover (shown with its first result). */
  notice: string | null;
}
