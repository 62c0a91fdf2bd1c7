import { TAB, type PanelState } from '../src/common/panel-state';
import type { AttentionView } from '../src/common/protocol';
import type { EngineResult } from '../src/engine/model-engine';
import { Controls } from './controls';
import { runNotices, runSummary } from './run-notices';
import { DetailsView } from './views/details';
import type { Focus } from './views/focus';
import { HeadTable } from './views/head-table';
import { HeadView } from './views/head-view';
import type { HeadScoreRow } from '../src/common/head-scores';
import { MatrixView } from './views/matrix-view';
import { ModelView } from './views/model-view';
import { QueryKeyView, type QueryKeyLoader } from './views/query-key-view';
import { TokenStrip } from './views/token-strip';
import { CompareView, type CompareShown } from './views/compare-view';
import { SurprisalStrip } from './views/surprisal-strip';
import { tokenSurprisal } from '../src/common/surprisal';
import { InterventionBar, type InterventionEvents, type InterventionShown } from './views/intervention-bar';

export type NoticeKind = 'info' | 'warning' | 'error';

export interface LayoutEvents {
  view(view: AttentionView): void;
  colourByHead(on: boolean): void;
  words(on: boolean): void;
  tab(index: number): void;
  /** The Export… button. */
  export(): void;
  /** A head chosen in the head finder: shown in the head view. */
  pickHead(view: AttentionView): void;
  /** The pointer entered a token in any view (`click`: clicked it). */
  focus(index: number, side: Focus['side'], click: boolean): void;
  leave(): void;
  /** The query·key view's vectors, from the engine. */
  queryKey: QueryKeyLoader;
  /** Something a view waited for arrived: draw again. */
  redraw(): void;
  /** The Intervene switch. */
  intervene(on: boolean): void;
  /** While intervening: a head clicked (model view, head finder) or a token clicked in the text. */
  toggleHead(head: { layer: number; head: number }): void;
  toggleUnit(index: number): void;
  intervention: InterventionEvents;
}

/** What the panel draws: the result, and the choices that survive a reload. */
export interface Shown {
  result: EngineResult & { source: string; topK: number };
  /** Every head's scores, computed when first asked for (the Heads tab); a progress line while they are. */
  heads: () => HeadScoreRow[] | string;
  state: PanelState;
  focus: Focus | null;
  stale: boolean;
  intervention: InterventionShown;
  /** The Compare tab's two results, made when the tab is open. */
  compare: () => CompareShown;
}

function div(className: string): HTMLDivElement {
  const e = document.createElement('div');
  e.className = className;
  return e;
}

export function notice(kind: NoticeKind, text: string): HTMLDivElement {
  const n = div(`notice ${kind}`);
  n.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  n.textContent = text;
  return n;
}

/**
 * The panel's layout: the header and notices, the progress line, then the result — controls,
 * details, the token strip, and the head view and matrix in tabs. Draws what it is given.
 */
export class PanelLayout {
  readonly notices = div('notices');
  private readonly header = div('run-header');
  private readonly body = div('result');
  private readonly controls: Controls;
  private readonly details = new DetailsView();
  private readonly strip: TokenStrip;
  private readonly surprisal: SurprisalStrip;
  private readonly headView: HeadView;
  private readonly matrixView: MatrixView;
  private readonly modelView: ModelView;
  private readonly queryKeyView: QueryKeyView;
  private readonly headTable: HeadTable;
  private readonly tabs = document.createElement('vscode-tabs');
  private readonly intervention: InterventionBar;
  private readonly compareView: CompareView;
  /** Clicks choose what to intervene on (the Intervene switch is on). */
  private choosing = false;
  /** The result's parts being put into the page (attach). */
  private attached: Promise<void> | undefined;

  constructor(app: HTMLElement, progress: HTMLElement, on: LayoutEvents) {
    const focus = (index: number, side: Focus['side'], click: boolean): void => on.focus(index, side, click);
    const leave = (): void => on.leave();
    this.controls = new Controls(on.view, on.colourByHead, on.words, on.export, on.intervene);
    // While intervening, a click in the text hides a token, a click on a head knocks it out.
    this.strip = new TokenStrip(
      (index, side, click) => (click && this.choosing ? on.toggleUnit(index) : focus(index, side, click)),
      leave,
    );
    const pick = (view: AttentionView): void =>
      this.choosing && typeof view.head === 'number'
        ? on.toggleHead({ layer: view.layer, head: view.head })
        : on.pickHead(view);
    this.intervention = new InterventionBar(on.intervention);
    this.surprisal = new SurprisalStrip(focus);
    this.headView = new HeadView(focus, leave);
    this.matrixView = new MatrixView(focus, leave);
    this.modelView = new ModelView(focus, leave, pick);
    this.queryKeyView = new QueryKeyView(on.queryKey, () => on.redraw());
    this.headTable = new HeadTable(pick);
    this.compareView = new CompareView((view) => on.view(view));
    this.tabs.id = 'view-tabs';
    this.tabs.append(
      tabHeader('Head view'),
      tabPanel(this.headView.element),
      tabHeader('Matrix'),
      tabPanel(this.matrixView.element),
      tabHeader('Model view'),
      tabPanel(this.modelView.element),
      tabHeader('Query · key'),
      tabPanel(this.queryKeyView.element),
      tabHeader('Heads'),
      tabPanel(this.headTable.element),
      tabHeader('Compare'),
      tabPanel(this.compareView.element),
    );
    this.tabs.addEventListener('vsc-tabs-select', (e) => on.tab(e.detail.selectedIndex));
    app.append(this.header, this.notices, progress, this.body);
  }

  /**
   * Puts the result's parts into the page, a group a task (`between` yields): each UI component
   * renders itself when it enters the page, and all of them in the page's first task made it one
   * long task. Resolves once all are in; nothing is drawn before.
   */
  attach(between: () => Promise<void>): Promise<void> {
    this.attached ??= (async () => {
      const groups: HTMLElement[][] = [
        [this.controls.element, this.intervention.element, this.details.element],
        [this.strip.element, this.surprisal.element],
        [this.tabs],
      ];
      for (const group of groups) {
        await between();
        this.body.append(...group);
      }
    })();
    return this.attached;
  }

  /** Before any result: the model's name and how to get one. */
  showEmpty(modelName: string): void {
    this.header.textContent = modelName;
    this.body.classList.add('waiting');
    const how =
      'Select code or prose in the editor and run “Attention Explorer: Show Attention for Selection” (Ctrl+Alt+A).';
    this.notices.replaceChildren(notice('info', how));
  }

  /**
   * A new result's tokens (the strip keeps its chips until the next result), and their surprisal
   * when predictions are on (`surprisal`: per word, when the result is in words).
   */
  setTokens(result: EngineResult & { surprisal?: (number | null)[] }): void {
    this.strip.setTokens(result.tokens);
    const p = result.predictions;
    const kind = result.predictionKind ?? 'next-token';
    this.surprisal.set(result.tokens, result.surprisal ?? (p && tokenSurprisal(p, kind)), p, kind);
  }

  /**
   * Before any result, draws `practice` (first-display.ts) into the unseen layout, a part a task
   * (`between` yields), so that the first real result's display runs compiled code on made
   * canvases. Stops as soon as a real result is shown.
   */
  async practise(practice: EngineResult, view: AttentionView, between: () => Promise<void>): Promise<void> {
    const focus = { index: 1, side: 'query' as const, pinned: false };
    const shown = { tokens: practice.tokens, store: practice.store, view, focus: null };
    await this.attach(between);
    const steps = [
      () => this.setTokens(practice),
      () => this.controls.set(practice.model.layers, practice.model.heads, view, false, false, false),
      () => this.strip.render(practice.store, view, focus),
      () => this.headView.render({ ...shown, colourByHead: false }),
      () => this.headView.render({ ...shown, focus, colourByHead: false }),
    ];
    for (const step of steps) {
      await between();
      if (!this.body.classList.contains('waiting')) return;
      step();
    }
  }

  /** The header line and the notices above the result. */
  renderHeader(s: Pick<Shown, 'result' | 'stale'>): void {
    this.header.textContent = runSummary(s.result);
    this.header.title = `source: ${s.result.source}`;
    this.notices.replaceChildren(...runNotices(s.result, s.stale).map((n) => notice(n.kind, n.text)));
  }

  render(s: Shown): void {
    const { result, state, focus, intervention } = s;
    this.body.classList.remove('waiting');
    this.renderHeader(s);
    this.choosing = intervention.editing;
    const { layers, heads } = result.model;
    this.controls.set(layers, heads, state.view, state.colourByHead, state.words, intervention.editing);
    this.intervention.render(intervention);
    // What the intervention takes out: the choice while choosing, else the run's own.
    const marked = intervention.editing ? intervention.choice : (intervention.applied ?? { heads: [], units: [] });
    const tabs = this.tabs as unknown as { selectedIndex: number };
    if (tabs.selectedIndex !== state.tab) tabs.selectedIndex = state.tab;
    this.details.render(result, state.view, focus);
    this.strip.render(result.store, state.view, focus);
    this.strip.markHidden(marked.units);
    // Only the open tab's view is drawn.
    const shown = { tokens: result.tokens, store: result.store, view: state.view, focus };
    if (state.tab === TAB.head) this.headView.render({ ...shown, colourByHead: state.colourByHead });
    else if (state.tab === TAB.matrix) this.matrixView.render(shown);
    else if (state.tab === TAB.model) {
      this.modelView.render({ ...shown, knockedOut: marked.heads });
      // For the benchmark and the tests: how long the pictures and the paint took.
      document.body.dataset.modelView = JSON.stringify(this.modelView.timings);
    } else if (state.tab === TAB.queryKey) this.queryKeyView.render({ ...shown, words: state.words });
    else if (state.tab === TAB.compare) this.compareView.render(s.compare());
    else {
      const heads = s.heads();
      if (typeof heads === 'string') this.headTable.pending(heads);
      else this.headTable.render(heads, state.view, marked.heads);
    }
  }

  /** The open tab's picture, for a PNG export; null on the Heads tab. */
  viewCanvas(tab: number): HTMLCanvasElement | null {
    if (tab === TAB.head) return this.headView.exportCanvas();
    if (tab === TAB.matrix) return this.matrixView.canvas;
    if (tab === TAB.queryKey) return this.queryKeyView.canvas;
    return tab === TAB.model ? this.modelView.canvas : null;
  }

  /** The model view's pictures of each head, for an SVG. */
  modelPictures(): ReturnType<ModelView['pictures']> {
    return this.modelView.pictures();
  }

  /** Scrolls token `index` into sight in the strip and the head view. */
  reveal(index: number): void {
    this.strip.reveal(index);
    this.headView.reveal(index);
  }
}

function tabHeader(text: string): HTMLElement {
  const h = document.createElement('vscode-tab-header');
  h.setAttribute('slot', 'header');
  h.textContent = text;
  return h;
}

function tabPanel(child: HTMLElement): HTMLElement {
  const p = document.createElement('vscode-tab-panel');
  p.append(child);
  return p;
}
