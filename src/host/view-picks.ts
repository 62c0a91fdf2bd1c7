import * as vscode from 'vscode';
import { AGGREGATE_HEADS, headLabel, type AttentionView, type HeadChoice, type ModelInfo } from '../common/protocol';

/** Select Layer…: every layer, named by its place in the graph. The chosen view, or undefined. */
export async function pickLayer(model: ModelInfo, view: AttentionView): Promise<AttentionView | undefined> {
  const items = model.layerNames.map((name, layer) => ({
    label: `Layer ${layer}`,
    description: name,
    picked: layer === view.layer,
    layer,
  }));
  const pick = await vscode.window.showQuickPick(items, {
    title: 'Attention Explorer: Select Layer',
    placeHolder: `current: layer ${view.layer}`,
  });
  return pick && { layer: pick.layer, head: view.head };
}

/** Select Head…: the mean and the max over heads, then each head. The chosen view, or undefined. */
export async function pickHead(model: ModelInfo, view: AttentionView): Promise<AttentionView | undefined> {
  const heads: HeadChoice[] = [...AGGREGATE_HEADS, ...Array.from({ length: model.heads }, (_, h) => h)];
  const items = heads.map((head) => ({
    label: headLabel(head).replace(/^./, (c) => c.toUpperCase()),
    description: head === view.head ? 'current' : undefined,
    head,
  }));
  const pick = await vscode.window.showQuickPick(items, {
    title: `Attention Explorer: Select Head (layer ${view.layer})`,
  });
  return pick && { layer: view.layer, head: pick.head };
}
