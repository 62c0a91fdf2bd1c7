import type { LoadProgress } from './engine-inputs';

const MB = (n: number): string => (n / 1e6).toFixed(1);

/** What the panel says while the engine loads: the stage, and the megabytes fetched. */
export function describeLoad(p: LoadProgress): string {
  const what: Record<LoadProgress['stage'], string> = {
    fetch: p.total
      ? `Loading the model and the runtime: ${MB(p.fetched)} of ${MB(p.total)} MB…`
      : p.fetched
        ? `Loading the model and the runtime: ${MB(p.fetched)} MB so far…`
        : 'Loading the model and the runtime…',
    runtime: 'Starting the runtime…',
    tokenizer: 'Loading the tokenizer…',
    surgery: "Preparing the graph (exposing each layer's attention)…",
    session: 'Creating the inference session…',
    'warm-up': 'Compiling the model (one short run)…',
  };
  return what[p.stage];
}

/**
 * The busy line under the header: a ring and what is happening. The engine's loading stage shows
 * while nothing else is said; a run's message takes its place while it lasts.
 */
export class ProgressLine {
  readonly element = document.createElement('div');
  private loading: string | null = null;
  private message: string | null = null;

  constructor() {
    this.element.className = 'progress';
  }

  /** The engine's load (null once the model is ready). */
  load(text: string | null): void {
    this.loading = text;
    this.show();
  }

  /** A run's own message (null when it ends). */
  say(text: string | null): void {
    this.message = text;
    this.show();
  }

  private show(): void {
    const shown = this.message ?? this.loading;
    if (!shown) {
      this.element.replaceChildren();
      return;
    }
    // The ring is kept across updates: replacing it many times a second would restart its animation.
    let label = this.element.querySelector<HTMLSpanElement>('.progress-text');
    if (!label) {
      label = document.createElement('span');
      label.className = 'progress-text';
      this.element.replaceChildren(document.createElement('vscode-progress-ring'), label);
    }
    label.textContent = shown;
  }
}
