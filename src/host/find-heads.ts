import * as vscode from 'vscode';
import { rankHeads, type HeadScoreRow, type HeadScores } from '../common/head-scores';
import type { AttentionView } from '../common/protocol';

interface Trait {
  label: string;
  detail: string;
  key: keyof HeadScores;
  /** Highest first, or (for a focused head) lowest first. */
  descending: boolean;
}

const TRAITS: readonly Trait[] = [
  {
    label: 'Induction',
    key: 'induction',
    descending: true,
    detail: 'copies what followed the token’s earlier occurrence',
  },
  { label: 'Previous token', key: 'previousToken', descending: true, detail: 'attends to the token just before' },
  { label: 'First token', key: 'firstToken', descending: true, detail: 'parks attention on the first token (a sink)' },
  { label: 'Self', key: 'self', descending: true, detail: 'attends to the token itself' },
  { label: 'Focused', key: 'entropy', descending: false, detail: 'lowest entropy: each token looks at few others' },
  { label: 'Broad', key: 'entropy', descending: true, detail: 'highest entropy: attention spread over many tokens' },
  { label: 'Long-range', key: 'meanDistance', descending: true, detail: 'largest mean distance to what it attends to' },
];

const fmt = (v: number | null, digits = 3): string => (v === null ? '—' : v.toFixed(digits));

function summary(s: HeadScores): string {
  return (
    `induction ${fmt(s.induction)} · previous ${fmt(s.previousToken)} · first ${fmt(s.firstToken)} · ` +
    `self ${fmt(s.self)} · entropy ${fmt(s.entropy, 2)} · distance ${fmt(s.meanDistance, 1)}`
  );
}

/**
 * Find Heads…: what to look for (induction, previous token…), then every head ranked by it, with
 * all its scores; the chosen head is shown. Undefined when the user cancels.
 */
export async function pickHeadByScore(heads: HeadScoreRow[]): Promise<AttentionView | undefined> {
  const repeats = heads.some((h) => h.scores.induction !== null);
  const traits = TRAITS.filter((t) => t.key !== 'induction' || repeats);
  const trait = await vscode.window.showQuickPick(
    traits.map((t) => ({ label: t.label, detail: t.detail, trait: t })),
    {
      title: 'Attention Explorer: Find Heads — what should the head do?',
      placeHolder: repeats ? undefined : 'no token repeats in this text: no induction scores',
    },
  );
  if (!trait) return undefined;
  const { key, descending } = trait.trait;
  const ranked = rankHeads(heads, key, descending);
  const pick = await vscode.window.showQuickPick(
    ranked.map((h) => ({
      label: `Layer ${h.layer} · Head ${h.head}`,
      description: `${trait.label.toLowerCase()}: ${fmt(h.scores[key], key === 'meanDistance' ? 1 : 3)}`,
      detail: summary(h.scores),
      view: { layer: h.layer, head: h.head },
    })),
    { title: `Attention Explorer: heads ranked by ${trait.label.toLowerCase()}`, matchOnDetail: true },
  );
  return pick?.view;
}
