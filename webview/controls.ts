import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { VscodeCheckbox } from '@vscode-elements/elements/dist/vscode-checkbox/vscode-checkbox.js';
import type { VscodeSingleSelect } from '@vscode-elements/elements/dist/vscode-single-select/vscode-single-select.js';
import { AGGREGATE_HEADS, headLabel, type AttentionView, type HeadChoice } from '../src/common/protocol';

/** Layer and head pickers and the "colour by head" switch, built from VS Code webview elements. */
export class Controls {
  readonly element: HTMLDivElement;
  private readonly layer: VscodeSingleSelect;
  private readonly head: VscodeSingleSelect;
  private readonly colour: VscodeCheckbox;
  private readonly words: VscodeCheckbox;
  private readonly intervene: VscodeCheckbox;
  private shape = { layers: 0, heads: 0 };

  constructor(
    onView: (view: AttentionView) => void,
    onColourByHead: (on: boolean) => void,
    onWords: (on: boolean) => void,
    onExport: () => void,
    onIntervene: (on: boolean) => void,
  ) {
    this.element = document.createElement('div');
    this.element.className = 'controls';
    this.layer = document.createElement('vscode-single-select');
    this.layer.id = 'layer-select';
    this.layer.setAttribute('aria-label', 'Layer');
    this.head = document.createElement('vscode-single-select');
    this.head.id = 'head-select';
    this.head.setAttribute('aria-label', 'Head');
    this.colour = document.createElement('vscode-checkbox');
    this.colour.id = 'colour-by-head';
    this.colour.label = 'All heads in colour';
    this.words = document.createElement('vscode-checkbox');
    this.words.id = 'word-level';
    this.words.label = 'Whole words';
    this.words.title =
      'Merge sub-word tokens into words: the attention a word receives is summed over its tokens, what it pays is averaged over them';
    this.intervene = document.createElement('vscode-checkbox');
    this.intervene.id = 'intervene';
    this.intervene.label = 'Intervene';
    this.intervene.title =
      'Choose heads to knock out (Model view, Heads tab) and tokens to hide (the text), then run the text again so changed';
    const label = (text: string, el: HTMLElement): HTMLLabelElement => {
      const l = document.createElement('label');
      l.className = 'control';
      l.append(text, el);
      return l;
    };
    const exportButton = document.createElement('vscode-button');
    exportButton.id = 'export-button';
    exportButton.setAttribute('secondary', '');
    exportButton.textContent = 'Export…';
    exportButton.title = 'Export this view as PNG, this head as CSV, or every head as JSON';
    exportButton.addEventListener('click', onExport);
    this.element.append(
      label('Layer', this.layer),
      label('Head', this.head),
      this.colour,
      this.words,
      this.intervene,
      exportButton,
    );
    const fire = (): void => onView(this.value());
    this.layer.addEventListener('change', fire);
    this.head.addEventListener('change', fire);
    this.colour.addEventListener('change', () => onColourByHead(this.colour.checked));
    this.words.addEventListener('change', () => onWords(this.words.checked));
    this.intervene.addEventListener('change', () => onIntervene(this.intervene.checked));
  }

  value(): AttentionView {
    const h = this.head.value;
    const head: HeadChoice = h === 'mean' || h === 'max' || h === 'rollout' ? h : Number(h);
    return { layer: Number(this.layer.value), head };
  }

  /** Rebuilds the options when the model's shape changes, then shows `view`. */
  set(
    layers: number,
    heads: number,
    view: AttentionView,
    colourByHead: boolean,
    words: boolean,
    intervening: boolean,
  ): void {
    if (this.shape.layers !== layers || this.shape.heads !== heads) {
      this.shape = { layers, heads };
      const option = (value: string, text: string): HTMLElement => {
        const o = document.createElement('vscode-option');
        o.setAttribute('value', value);
        o.textContent = text;
        return o;
      };
      this.layer.replaceChildren(...Array.from({ length: layers }, (_, l) => option(String(l), `layer ${l}`)));
      const headChoices: HeadChoice[] = [...AGGREGATE_HEADS, ...Array.from({ length: heads }, (_, h) => h)];
      this.head.replaceChildren(...headChoices.map((h) => option(String(h), headLabel(h))));
    }
    this.layer.value = String(view.layer);
    this.head.value = String(view.head);
    this.colour.checked = colourByHead;
    this.words.checked = words;
    this.intervene.checked = intervening;
  }
}
