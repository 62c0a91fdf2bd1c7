import * as vscode from 'vscode';
import type { AnalysisRecord } from './analysis-record';
import type { EditorLink } from './editor-link';
import { settings, setPredictionsSetting } from './settings';

export interface SurprisalCommandDeps {
  editor: EditorLink;
  /** The result the panel shows; undefined (the user told to run one) when there is none. */
  shownResult(): AnalysisRecord | undefined;
  /** Sends the current text to the panel again, with the settings as they are now. */
  analyseAgain(): void;
}

/**
 * Show Surprisal (a toggle): the editor shades every analysed token by its surprisal. A result
 * without predictions is explained: predictions off (offered to turn them on and analyse again),
 * or a model that gives none.
 */
export async function toggleSurprisal(d: SurprisalCommandDeps): Promise<void> {
  if (d.editor.showsSurprisal) {
    d.editor.setSurprisal(false);
    return;
  }
  const rec = d.shownResult();
  if (!rec?.result) return;
  if (rec.result.predictions) {
    d.editor.setSurprisal(true);
    return;
  }
  if (settings().predictions) {
    void vscode.window.showInformationMessage(
      `Attention Explorer: ${rec.result.model.name} gives no predictions (the panel says why), so there is no surprisal to show.`,
    );
    return;
  }
  const turnOn = 'Turn On and Analyse Again';
  const choice = await vscode.window.showInformationMessage(
    'Attention Explorer: surprisal needs the model\u2019s predictions, which are off (setting attentionExplorer.predictions).',
    turnOn,
  );
  if (choice !== turnOn) return;
  await setPredictionsSetting(true);
  d.editor.setSurprisal(true);
  d.analyseAgain();
}
