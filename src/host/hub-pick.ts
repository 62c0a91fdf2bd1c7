import * as vscode from 'vscode';
import { shapeFromConfig } from '../common/memory-estimate';
import { HubError, downloadHubModel, hubGraphs, hubRepoExists, hubText, repoHome, type HubGraph } from './hub-download';
import { cachedModelDir } from './model-cache';
import { hubEndpoint, settings } from './settings';
import { chooseVariants, describeVariant } from './variant-choice';

const MODEL_ID = /^[\w.-]+\/[\w.-]+$/;
const mb = (n: number): string => (n / 1024 ** 2).toFixed(1);

/**
 * Which of the repository's graphs: the user's pick of its variants, each with its precision,
 * download size and whether it fits in the panel's memory (the smallest that fits on top); or
 * the reason none fits, before anything is downloaded.
 */
async function pickGraph(
  endpoint: string,
  repo: string,
  graphs: HubGraph[],
  log: vscode.LogOutputChannel,
): Promise<string | undefined> {
  const config = await hubText(endpoint, repo, `${repoHome(graphs[0].graph)}config.json`).catch(() => undefined);
  const choice = chooseVariants(repo, graphs, shapeFromConfig(config), settings().maxTokens);
  for (const o of choice.options)
    log.info(
      `hub: ${repo} ${o.graph.graph}: ${describeVariant(o).description}; ${describeVariant(o).detail ?? 'no estimate'}`,
    );
  if (choice.refusal) {
    void vscode.window.showErrorMessage(`Attention Explorer: ${choice.refusal}`);
    return undefined;
  }
  if (choice.options.length === 1) return choice.options[0].graph.graph;
  const items = choice.options.map((o) => ({ label: o.graph.graph, ...describeVariant(o) }));
  const picked = await vscode.window.showQuickPick(items, {
    title: `Attention Explorer: which ${repo} graph?`,
    placeHolder: 'Download size and memory are shown for each; the smallest that fits is first',
  });
  return picked?.label;
}

/** Downloads with a cancellable notification that shows the file, the MB and the percentage. */
function downloadWithProgress(endpoint: string, repo: string, graph: string, folder: string): Thenable<string> {
  const title = `Attention Explorer: downloading ${repo}`;
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    (progress, token) => {
      const ac = new AbortController();
      token.onCancellationRequested(() => ac.abort());
      let lastPct = 0;
      return downloadHubModel({
        endpoint,
        repo,
        graph,
        folder,
        signal: ac.signal,
        onProgress: (file, received, total) => {
          const pct = total ? Math.floor((100 * received) / total) : 0;
          const amount = total ? `${mb(received)} of ${mb(total)} MB (${pct}%)` : `${mb(received)} MB`;
          progress.report({ message: `${file}: ${amount}`, increment: total ? Math.max(0, pct - lastPct) : undefined });
          lastPct = pct;
        },
      });
    },
  );
}

/**
 * Asks for a Hugging Face model id, offers its graph variants, downloads it into the model cache.
 * The local graph's path, or undefined (cancelled, or an error the user was shown).
 */
export async function modelFromHub(cacheRoot: string, log: vscode.LogOutputChannel): Promise<string | undefined> {
  const endpoint = hubEndpoint();
  const typed = await vscode.window.showInputBox({
    title: 'Attention Explorer: Hugging Face model id',
    prompt: `A model repository with ONNX files, from ${endpoint}`,
    placeHolder: 'Xenova/bert-base-uncased',
    validateInput: (v) => (MODEL_ID.test(v.trim()) ? undefined : 'owner/name, e.g. Xenova/bert-base-uncased'),
  });
  const repo = typed?.trim();
  if (!repo) return undefined;
  try {
    const graphs = await hubGraphs(endpoint, repo);
    if (graphs.length === 0 && !(await hubRepoExists(endpoint, repo))) {
      void vscode.window.showErrorMessage(
        `Attention Explorer: ${repo} was not found on ${endpoint} (no such model id, or it is private). ` +
          'Check the id, e.g. Xenova/bert-base-uncased.',
      );
      return undefined;
    }
    if (graphs.length === 0) {
      void vscode.window.showErrorMessage(
        `Attention Explorer: ${repo} has no ONNX model (looked for model.onnx, encoder_model.onnx, ` +
          'decoder_model_merged.onnx and decoder_model.onnx, at the top and under onnx/, ' +
          'and their variants: quantized, fp16, int8, uint8, q4, q4f16, bnb4).',
      );
      return undefined;
    }
    const graph = await pickGraph(endpoint, repo, graphs, log);
    if (!graph) return undefined;
    const folder = cachedModelDir(cacheRoot, repo);
    const local = await downloadWithProgress(endpoint, repo, graph, folder);
    log.info(`downloaded ${repo} (${graph}) into ${folder}`);
    return local;
  } catch (e) {
    const m = (e as Error).message;
    if (e instanceof HubError && e.kind === 'cancelled')
      void vscode.window.showInformationMessage(`Attention Explorer: ${m}`);
    else void vscode.window.showErrorMessage(`Attention Explorer: could not get ${repo}: ${m}`);
    log.error(`hub: ${m}`);
    return undefined;
  }
}
