import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ExportFormat } from '../common/export-formats';
import { headLabel, type AttentionView } from '../common/protocol';

const FORMATS: { format: ExportFormat; label: string; detail: string; filter: string }[] = [
  {
    format: 'png',
    label: 'PNG image',
    detail: 'the head view or the matrix, as the panel shows it',
    filter: 'PNG image',
  },
  {
    format: 'svg',
    label: 'SVG image',
    detail: 'the head view or the matrix as vector graphics, for papers and slides',
    filter: 'SVG image',
  },
  {
    format: 'json',
    label: 'JSON',
    detail: 'every layer and head: tokens, layer names, attentions[layer][head][query][key] (the CLI’s format)',
    filter: 'JSON',
  },
  {
    format: 'csv',
    label: 'CSV',
    detail: 'the current layer and head as a query × key matrix, with the tokens',
    filter: 'CSV',
  },
];

/** A file name that says what it holds: the analysed file's name, the layer and head. */
function defaultName(source: string, view: AttentionView, format: ExportFormat): string {
  const file =
    source
      .split(',')[0]
      .split(/[\\/]/)
      .pop()
      ?.replace(/\.[^.]*$/, '') || 'attention';
  const head = typeof view.head === 'number' ? `h${view.head}` : view.head;
  return `${file}-attention${format === 'json' ? '' : `-l${view.layer}-${head}`}.${format}`;
}

/** Export Attention…: which format, then where (a save dialog). Undefined when cancelled. */
export async function chooseExport(
  source: string,
  view: AttentionView,
): Promise<{ format: ExportFormat; uri: vscode.Uri } | undefined> {
  const pick = await vscode.window.showQuickPick(
    FORMATS.map((f) => ({
      ...f,
      description: f.format === 'json' ? undefined : `layer ${view.layer}, ${headLabel(view.head)}`,
    })),
    { title: 'Attention Explorer: Export Attention' },
  );
  if (!pick) return undefined;
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const name = defaultName(source, view, pick.format);
  const uri = await vscode.window.showSaveDialog({
    defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
    filters: { [pick.filter]: [pick.format] },
    saveLabel: 'Export',
    title: `Attention Explorer: export as ${pick.label}`,
  });
  return uri && { format: pick.format, uri };
}

/** Writes the export and offers to open it; a failure (a read-only folder, a full disk) is said plainly. */
export async function writeExport(uri: vscode.Uri, data: Uint8Array, log: vscode.LogOutputChannel): Promise<boolean> {
  try {
    await vscode.workspace.fs.writeFile(uri, data);
  } catch (e) {
    const why = (e as Error).message.replace(/^Error: /, '');
    log.error(`export to ${uri.fsPath} failed: ${why}`);
    const where = path.dirname(uri.fsPath);
    void vscode.window.showErrorMessage(
      `Attention Explorer: could not write ${path.basename(uri.fsPath)} into ${where} (${why}). Choose another folder.`,
    );
    return false;
  }
  log.info(`exported ${data.byteLength} bytes to ${uri.fsPath}`);
  void vscode.window
    .showInformationMessage(`Attention Explorer: exported ${path.basename(uri.fsPath)}.`, 'Open')
    .then((choice) => choice === 'Open' && vscode.commands.executeCommand('vscode.open', uri));
  return true;
}
