/**
 * The extension's command ids, in one place: `package.json` contributes each of them (a unit test
 * checks both ways), and the host registers and links them from here.
 */
export const COMMANDS = {
  showAttention: 'attentionExplorer.showAttention',
  selectLayer: 'attentionExplorer.selectLayer',
  selectHead: 'attentionExplorer.selectHead',
  findHeads: 'attentionExplorer.findHeads',
  exportAttention: 'attentionExplorer.exportAttention',
  chooseModel: 'attentionExplorer.chooseModel',
  manageCache: 'attentionExplorer.manageCache',
  clearAttention: 'attentionExplorer.clearAttention',
  toggleSurprisal: 'attentionExplorer.toggleSurprisal',
  knockOutHeads: 'attentionExplorer.knockOutHeads',
  hideSelection: 'attentionExplorer.hideSelection',
  compareWithPrevious: 'attentionExplorer.compareWithPrevious',
  /** Run from the hover's link, not from the palette (hidden there by a `when` of false). */
  revealToken: 'attentionExplorer.revealToken',
} as const;
