import { topK } from '../../src/common/analysis';
import type { AttentionStore } from '../../src/common/attention-store';
import { headLabel, type AttentionView, type TokenInfo } from '../../src/common/protocol';
import { focusLast, type Focus } from './focus';
import { visibleToken } from '../../src/common/token-display';

const div = (className: string): HTMLDivElement => {
  const e = document.createElement('div');
  e.className = className;
  return e;
};

/** The focused token's top-k: what it attends to and what attends to it, in the current view. */
export class DetailsView {
  readonly element = div('details');

  render(
    r: { tokens: TokenInfo[]; store: AttentionStore; topK: number } | undefined,
    view: AttentionView,
    focus: Focus | null,
  ): void {
    const details = this.element;
    details.replaceChildren();
    if (!r || !focus) {
      details.textContent = 'Hover a token to see what it attends to; click to pin it.';
      details.classList.add('hint');
      return;
    }
    details.classList.remove('hint');
    const i = focus.index;
    const last = focusLast(focus);
    const { layer, head } = view;
    const title = div('details-title');
    let attends: { index: number; weight: number }[];
    let by: { index: number; weight: number }[];
    if (last === i) {
      const row = r.store.row(layer, head, i);
      attends = topK(row.weights, r.topK, row.keyStart);
      by = topK(r.store.column(layer, head, i), r.topK);
      title.textContent = `“${visibleToken(r.tokens[i].text)}” (token ${i}) — layer ${layer}, ${headLabel(head)}`;
    } else {
      attends = topK(r.store.rowsSum(layer, head, i, last), r.topK);
      by = topK(r.store.columnsSum(layer, head, i, last), r.topK);
      const text = r.tokens
        .slice(i, last + 1)
        .map((t) => t.text)
        .join('');
      title.textContent =
        `“${visibleToken(text.length > 40 ? `${text.slice(0, 40)}…` : text)}” (tokens ${i}–${last}, their rows summed) — ` +
        `layer ${layer}, ${headLabel(head)}`;
    }
    const list = (name: string, items: { index: number; weight: number }[]): HTMLDivElement => {
      const d = div('details-list');
      const h = document.createElement('span');
      h.className = 'details-name';
      h.textContent = name;
      d.append(h);
      for (const w of items) {
        const s = document.createElement('span');
        s.className = 'details-item';
        s.textContent = `${visibleToken(r.tokens[w.index].text)} ${w.weight.toFixed(2)}`;
        s.dataset.index = String(w.index);
        d.append(s);
      }
      return d;
    };
    details.append(title, list('attends to', attends), list('attended by', by));
  }
}
