import type { PredictionInfo, PredictionKind, TokenInfo } from '../../src/common/protocol';
import { formatPerplexity, predictedAt, sequenceLoss, surprisalShade } from '../../src/common/surprisal';
import { visibleToken } from '../../src/common/token-display';
import { readTheme, rgba } from './theme';

/**
 * Under the token strip, when predictions are on: how unexpected each token (or word) was to the
 * model — one cell per token, darker for more bits — with the sequence's mean loss and perplexity.
 * Hovering a cell says the token's surprisal and what the model expected instead, and focuses it.
 */
export class SurprisalStrip {
  readonly element = document.createElement('div');
  private readonly caption = document.createElement('div');
  private readonly cells = document.createElement('div');

  constructor(private readonly onFocus: (index: number, side: 'query', click: boolean) => void) {
    this.element.className = 'surprisal';
    this.caption.className = 'surprisal-caption';
    this.cells.className = 'surprisal-cells';
    this.element.append(this.caption, this.cells);
    this.element.hidden = true;
  }

  /**
   * `surprisal` per shown token (bits; null where the model predicted nothing); `predictions` per
   * model token, for the loss and for what it expected after each token (token level only).
   */
  set(
    tokens: TokenInfo[],
    surprisal: (number | null)[] | null,
    predictions: PredictionInfo[] | null,
    kind: PredictionKind,
  ): void {
    this.element.hidden = !surprisal || !predictions;
    if (!surprisal || !predictions) return;
    const loss = sequenceLoss(predictions);
    const masked = kind === 'masked';
    // A masked model's figures are the pseudo-log-likelihood's: each token masked in a run of its own.
    const pseudo = masked ? 'pseudo-' : '';
    this.caption.textContent = loss
      ? `Surprisal (bits per ${tokens.length === predictions.length ? 'token' : 'word'}${masked ? ', each token masked in turn' : ''}) · mean ${pseudo}loss ${loss.loss.toFixed(2)} nats per token · ${pseudo}perplexity ${formatPerplexity(loss.perplexity)} · over ${loss.count} predicted tokens`
      : 'Surprisal: nothing to predict (a single token)';
    const theme = readTheme();
    const byToken = tokens.length === predictions.length;
    // Cells parted by a hairline while they are wide enough to show one.
    this.cells.classList.toggle('parted', tokens.length <= 300);
    this.cells.replaceChildren(
      ...tokens.map((t, i) => {
        const cell = document.createElement('span');
        const s = surprisal[i];
        cell.className = 'surprisal-cell';
        cell.dataset.index = String(i);
        cell.dataset.bits = s === null ? '' : s.toFixed(3);
        cell.style.background = s === null ? '' : rgba(theme.surprise, 0.08 + 0.92 * surprisalShade(s));
        const at = predictedAt(kind, i);
        const expected =
          byToken && at >= 0 && predictions[at].top.length
            ? ` · ${masked ? 'fills in' : 'expected'}: ${predictions[at].top.map((c) => `${visibleToken(c.text)} ${(100 * c.p).toFixed(0)}%`).join(', ')}`
            : '';
        const none = masked
          ? 'no prediction (a special token, or past the time for masking)'
          : 'no prediction (first token)';
        cell.title = `${visibleToken(t.text)}: ${s === null ? none : `${s.toFixed(1)} bits`}${expected}`;
        cell.addEventListener('mouseenter', () => this.onFocus(i, 'query', false));
        cell.addEventListener('click', () => this.onFocus(i, 'query', true));
        return cell;
      }),
    );
  }
}
