import { headLabel, type ShownPrediction, type Weighted } from '../common/protocol';
import { tokenInMarkdownTable } from '../common/token-display';
import type { AnalysisRecord } from './analysis-record';

export interface Position1 {
  line: number;
  column: number;
}

/** One line of the hover per token: its text, line:column (1-based, as VS Code shows them), weight. */
function rows(
  record: AnalysisRecord,
  items: Weighted[],
  k: number,
  positionOf: (docOffset: number) => Position1,
): string {
  const tokens = record.result!.tokens;
  return items
    .slice(0, k)
    .map((w) => {
      const t = tokens[w.index];
      const p = positionOf(record.baseOffset + t.start);
      return `| ${tokenInMarkdownTable(t.text)} | ${p.line}:${p.column} | ${w.weight.toFixed(3)} |`;
    })
    .join('\n');
}

/** Candidates as `text` 42% · … (a fraction under 1% shown as <1%). */
function candidates(next: ShownPrediction['next']): string {
  const pct = (p: number): string => (p < 0.005 ? '<1%' : `${(100 * p).toFixed(0)}%`);
  return next.map((c) => `${tokenInMarkdownTable(c.text)} ${pct(c.p)}`).join(' · ');
}

/**
 * What the model made of the token (predictions on): its surprisal with what the model expected
 * in its place, and what it predicts after it (a causal model).
 */
function predictionLines(predictions: ShownPrediction[], index: number, masked: boolean): string {
  const { bits, expected, next } = predictions[index];
  const here =
    bits === null
      ? `**Surprisal**: none (${masked ? 'a special token, not masked' : 'nothing precedes it'})`
      : `**Surprisal** ${bits.toFixed(1)} bits (p ${Math.pow(2, -bits).toPrecision(2)})` +
        (expected.length
          ? ` · ${masked ? 'masked, the model fills in' : 'expected here'}: ${candidates(expected)}`
          : '');
  return next.length ? `${here}\n\n**Predicted next**: ${candidates(next)}` : here;
}

/**
 * The hover's Markdown for one token: the top-k tokens it attends to and the top-k attending to
 * it, for the current layer/head choice, and a link that reveals the token in the panel.
 */
export function hoverMarkdown(
  record: AnalysisRecord,
  index: number,
  k: number,
  positionOf: (docOffset: number) => Position1,
  revealCommand: string,
): string {
  const r = record.result!;
  const s = r.summaries[index];
  const t = r.tokens[index];
  // Token text inside it must not read as Markdown.
  const plain = (text: string): string => text.replace(/[\\`*_[\]<>#|]/g, (c) => `\\${c}`);
  const intervened = r.intervention ? ` · *with an intervention: ${plain(r.intervention)}*` : '';
  const head = `**Attention Explorer** — ${tokenInMarkdownTable(t.text)} (token ${index}) · layer ${r.view.layer}, ${headLabel(r.view.head)}${intervened}`;
  if (record.stale)
    return `${head}\n\n$(warning) The text changed since this analysis: run **Show Attention for Selection** again.`;
  const table = (title: string, items: Weighted[]): string =>
    items.length
      ? `**${title}**\n\n| token | line:col | weight |\n|---|---|---|\n${rows(record, items, k, positionOf)}`
      : `**${title}**: none`;
  const link = `[Reveal in panel](command:${revealCommand}?${encodeURIComponent(JSON.stringify([index]))})`;
  // Predictions of a model that attends both ways are its masked ones (a causal model's are of the next token).
  const predicted = r.predictions ? [predictionLines(r.predictions, index, !r.model.causal)] : [];
  return [head, ...predicted, table('Attends to', s.attends), table('Attended by', s.attendedBy), link].join('\n\n');
}
