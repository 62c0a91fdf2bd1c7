import { rankHeads, type HeadScoreRow, type HeadScores } from '../../src/common/head-scores';
import type { AttentionView } from '../../src/common/protocol';

interface Column {
  key: keyof HeadScores;
  title: string;
  /** What the score means, for the header's tooltip. */
  help: string;
  digits: number;
}

const COLUMNS: readonly Column[] = [
  {
    key: 'induction',
    title: 'Induction',
    help: 'Attention to the token that followed this token’s earlier occurrence',
    digits: 3,
  },
  { key: 'previousToken', title: 'Previous', help: 'Attention to the token just before', digits: 3 },
  { key: 'firstToken', title: 'First token', help: 'Attention to the first token (an attention sink)', digits: 3 },
  { key: 'self', title: 'Self', help: 'Attention to the token itself', digits: 3 },
  { key: 'entropy', title: 'Entropy', help: 'Spread of each row in nats: 0 = one key, ln n = all alike', digits: 2 },
  { key: 'meanDistance', title: 'Distance', help: 'Mean distance to the attended keys, in tokens', digits: 1 },
];

/**
 * The head finder: every head's scores on the analysed text, in a table sorted by any column (a
 * click on its header; again to reverse). Choosing a row shows that head.
 */
export class HeadTable {
  readonly element = document.createElement('div');
  private sort: { key: keyof HeadScores; descending: boolean } = { key: 'induction', descending: true };
  private rows: HeadScoreRow[] = [];
  private view?: AttentionView;

  constructor(private readonly onPick: (view: AttentionView) => void) {
    this.element.className = 'head-table';
  }

  /** While the scores are computed: what is being done, and how far it is. */
  pending(text: string): void {
    const p = document.createElement('p');
    p.className = 'head-table-note';
    p.setAttribute('role', 'status');
    p.textContent = text;
    this.element.replaceChildren(p);
  }

  render(rows: HeadScoreRow[], view: AttentionView, knockedOut: { layer: number; head: number }[] = []): void {
    this.rows = rows;
    this.view = view;
    const table = document.createElement('table');
    table.setAttribute('aria-label', 'Heads scored on the analysed text');
    const head = table.createTHead().insertRow();
    head.append(th('Head', 'Layer and head'));
    for (const c of COLUMNS) {
      const cell = th('', c.help);
      const button = document.createElement('button');
      button.className = 'sort';
      button.textContent = c.title;
      button.title = `${c.help}. Click to sort.`;
      button.addEventListener('click', () => this.sortBy(c.key));
      cell.append(button);
      if (this.sort.key === c.key) cell.setAttribute('aria-sort', this.sort.descending ? 'descending' : 'ascending');
      head.append(cell);
    }
    const body = table.createTBody();
    const best = Object.fromEntries(
      COLUMNS.map((c) => [c.key, Math.max(...rows.map((r) => r.scores[c.key] ?? -Infinity))]),
    );
    for (const r of rankHeads(this.rows, this.sort.key, this.sort.descending)) {
      const tr = body.insertRow();
      tr.tabIndex = 0;
      tr.dataset.layer = String(r.layer);
      tr.dataset.head = String(r.head);
      tr.title = `Show layer ${r.layer}, head ${r.head}`;
      if (view.layer === r.layer && view.head === r.head) tr.classList.add('current');
      if (knockedOut.some((k) => k.layer === r.layer && k.head === r.head)) tr.classList.add('knocked-out');
      const pick = (): void => this.onPick({ layer: r.layer, head: r.head });
      tr.addEventListener('click', pick);
      tr.addEventListener('keydown', (e) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), pick()));
      tr.insertCell().textContent = `L${r.layer} · H${r.head}`;
      for (const c of COLUMNS) {
        const v = r.scores[c.key];
        const td = tr.insertCell();
        td.textContent = v === null ? '—' : v.toFixed(c.digits);
        const share = v !== null && best[c.key] > 0 ? v / best[c.key] : 0;
        // A bar behind the number, the score against the column's best (a sliver would read as a rule).
        if (share >= 0.05 && c.key !== 'entropy' && c.key !== 'meanDistance') {
          td.style.setProperty('--share', `${Math.round(share * 100)}%`);
          td.className = 'bar';
        }
      }
    }
    const note = document.createElement('p');
    note.className = 'head-table-note';
    note.textContent =
      rows.length && rows.every((r) => r.scores.induction === null)
        ? 'No token repeats in this text, so no head has an induction score; select text with repeats to find induction heads.'
        : 'Scores are means over the analysed tokens. Click a header to sort, a row to show that head.';
    this.element.replaceChildren(table, note);
  }

  private sortBy(key: keyof HeadScores): void {
    this.sort = { key, descending: this.sort.key === key ? !this.sort.descending : true };
    if (this.view) this.render(this.rows, this.view);
  }
}

function th(text: string, help: string): HTMLTableCellElement {
  const cell = document.createElement('th');
  cell.scope = 'col';
  cell.textContent = text;
  cell.title = help;
  return cell;
}
