// In the editor: the command, the panel, the hover, the shading, the head finder, rollout, export, odd text.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import {
  e2e,
  e2eSession,
  exportAs,
  openFile,
  page,
  panel,
  runCommand,
  server,
  setPredictions,
  SHADE_RGB,
  shadedSpans,
  shot,
  waitForFile,
  waitForRun,
} from '../support/e2e-session';

e2eSession();

e2e(
  'Show Attention from the palette opens the panel with the bundled model, tokens and a drawn head view',
  async () => {
    await openFile('fibonacci.py');
    await page.keyboard.press('Control+A');
    await runCommand(page, 'Attention Explorer: Show Attention for Selection');
    const header = await waitForRun();
    assert.match(header, /code-prose-gpt · (WebGPU|WebAssembly) · \d+ ms · \d+ tokens · 4 layers × 8 heads · causal/);
    const chips = await panel.locator('.token-strip .token').allInnerTexts();
    assert.deepEqual(chips.slice(0, 4), ['def', '·f', 'ib', 'on']);
    const painted = await panel.locator('.head-view canvas').evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    });
    assert.ok(painted > 5000, `the head view painted ${painted} pixels`);
    // The status bar hears of the result through the extension host, a moment after the panel shows it.
    await page
      .locator('.statusbar-item', { hasText: /code-prose-gpt · (WebGPU|wasm) · \d+ ms/ })
      .waitFor({ timeout: 10_000 });
    await shot('01-panel-after-show-attention');
  },
);

e2e('hovering a token in the editor lists its top 5 attended and attending tokens', async () => {
  // Layer 3, head 7 is the model's strongest induction head; choose it from the palette.
  await runCommand(page, 'Attention Explorer: Select Layer…');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Layer 3' }).first().click();
  await runCommand(page, 'Attention Explorer: Select Head…');
  await page
    .locator('.quick-input-list .monaco-list-row', { hasText: /^Head 7/ })
    .first()
    .click();
  await panel.locator('.details, .run-header').first().waitFor();
  assert.equal(await panel.locator('#layer-select').evaluate((e) => (e as HTMLSelectElement).value), '3');
  assert.equal(await panel.locator('#head-select').evaluate((e) => (e as HTMLSelectElement).value), '7');

  // The second "fibonacci(" call on line 4: hover its "return".
  const returns = page.locator('.editor-instance .view-line span span', { hasText: /^return$/ });
  await returns.nth(1).hover();
  const hover = page.locator('.monaco-hover:visible', { hasText: 'Attention Explorer' });
  await hover.waitFor({ timeout: 15_000 });
  const text = await hover.innerText();
  assert.match(text, /layer 3, head 7/);
  assert.match(text, /Attends to/);
  assert.match(text, /Attended by/);
  assert.match(text, /Reveal in panel/);
  const rows = await hover.locator('table').first().locator('tbody tr').allInnerTexts();
  assert.equal(rows.length, 5);
  for (const r of rows) assert.match(r, /\d+:\d+\s+0\.\d{3}/);
  await shot('02-editor-hover');
  // The hover's link reveals the token in the panel, pinned.
  const title = (await hover.locator('code').first().innerText()).trim();
  await hover.locator('a', { hasText: 'Reveal in panel' }).click();
  await panel.locator('.details-title', { hasText: /layer 3, head 7/ }).waitFor({ timeout: 10_000 });
  assert.ok((await panel.locator('.details-title').innerText()).includes(title), `the panel shows ${title}`);
  assert.equal(await panel.locator('.token-strip .token.pinned').count(), 1);
  await page.keyboard.press('Escape');
});

e2e(
  'Find Heads… ranks every head on the analysed text by what it does; the chosen head is shown in the panel',
  async () => {
    await runCommand(page, 'Attention Explorer: Find Heads…');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Previous token' }).first().click();
    // The heads replace the list of criteria once the panel has scored them (it can take a moment).
    const rows = page.locator('.quick-input-list .monaco-list-row', { hasText: /Layer \d+ · Head \d+/ });
    await rows.first().waitFor();
    const first = await rows.first().innerText();
    const [, layer, head] = /Layer (\d+) · Head (\d+)/.exec(first) ?? [];
    assert.ok(layer !== undefined, first);
    assert.match(first, /previous token: 0\.\d{3}/);
    await shot('02b-find-heads');
    await rows.first().click();
    // The view reaches the panel through the extension host: wait for the pickers to show it.
    const shows = async (): Promise<string> =>
      `${await panel.locator('#layer-select').evaluate((e) => (e as HTMLSelectElement).value)}/` +
      `${await panel.locator('#head-select').evaluate((e) => (e as HTMLSelectElement).value)}`;
    for (let i = 0; i < 50 && (await shows()) !== `${layer}/${head}`; i++) await page.waitForTimeout(100);
    assert.equal(await panel.locator('#layer-select').evaluate((e) => (e as HTMLSelectElement).value), layer);
    assert.equal(await panel.locator('#head-select').evaluate((e) => (e as HTMLSelectElement).value), head);
    // The panel's own head finder lists the same heads, and its Previous column sorts them the same.
    await panel.locator('vscode-tab-header', { hasText: 'Heads' }).click();
    await panel.locator('.head-table button.sort', { hasText: 'Previous' }).click();
    const top = await panel.locator('.head-table tbody tr').first().locator('td').first().innerText();
    assert.equal(top, `L${layer} · H${head}`);
    await shot('02c-head-finder-tab');
    await panel.locator('vscode-tab-header', { hasText: 'Head view' }).click();
  },
);

e2e(
  'Select Head… offers the attention rollout beside the mean and the max; the panel and the hover show it',
  async () => {
    await runCommand(page, 'Attention Explorer: Select Head…');
    await page
      .locator('.quick-input-list .monaco-list-row', { hasText: /^Rollout/ })
      .first()
      .click();
    for (let i = 0; i < 50; i++) {
      if ((await panel.locator('#head-select').evaluate((e) => (e as HTMLSelectElement).value)) === 'rollout') break;
      await page.waitForTimeout(100);
    }
    assert.equal(await panel.locator('#head-select').evaluate((e) => (e as HTMLSelectElement).value), 'rollout');
    await panel.locator('.token-strip .token').nth(10).click();
    await panel.locator('.details-title', { hasText: /rollout \(layers 0 to this one\)/ }).waitFor();
    await shot('02f-rollout');
    await panel.locator('.token-strip .token').nth(10).click(); // unpinned again
  },
);

e2e(
  'Export Attention…: the view as PNG (opened in VS Code) and SVG, every head as JSON, one head as CSV; a folder that cannot be written is said plainly',
  async () => {
    const dir = server.workspace;
    const png = path.join(dir, 'fib-view.png');
    await exportAs('PNG image', png);
    const bytes = await waitForFile(png);
    assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG file');
    assert.ok(bytes.length > 5000, `${bytes.length} bytes`);
    const toast = page.locator('.notifications-toasts .notification-list-item', { hasText: 'exported fib-view.png' });
    await toast.locator('.monaco-button', { hasText: 'Open' }).click();
    await page.locator('.tabs-container .tab', { hasText: 'fib-view.png' }).waitFor({ timeout: 15_000 });
    await page.waitForTimeout(1500); // the image preview is a webview of its own: let it paint
    await shot('02d-exported-png-opened');
    await runCommand(page, 'View: Close Editor');

    const svgFile = path.join(dir, 'fib-view.svg');
    await exportAs('SVG image', svgFile);
    const svgText = (await waitForFile(svgFile)).toString('utf8');
    assert.match(svgText, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.ok(svgText.includes('>def</text>') && svgText.includes('<path d="M'), 'the tokens and the lines');

    const json = path.join(dir, 'fib-attention.json');
    await exportAs('JSON', json);
    const out = JSON.parse((await waitForFile(json)).toString('utf8')) as {
      tokens: { text: string }[];
      layers: string[];
      attentions: number[][][][];
    };
    assert.equal(out.layers.length, 4);
    assert.equal(out.attentions[3].length, 8);
    const t = out.tokens.length;
    assert.equal(out.tokens[0].text, 'def');
    for (const row of out.attentions[3][7]) {
      assert.equal(row.length, t);
      assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-4);
    }

    const csv = path.join(dir, 'fib-head.csv');
    await exportAs('CSV', csv);
    const lines = (await waitForFile(csv)).toString('utf8').trimEnd().split('\r\n');
    assert.equal(lines.length, t + 1);
    assert.match(lines[0], /^query \\ key,0:def,/);

    // /proc takes no new files, even from root: the export fails with the reason, and nothing else breaks.
    await exportAs('CSV', '/proc/attention.csv');
    await page
      .locator('.notifications-toasts', { hasText: /could not write attention\.csv into \/proc/ })
      .waitFor({ timeout: 15_000 });
    await shot('02e-export-refused');
    await waitForRun();
  },
);

e2e(
  'the model view shows every layer × head at once, exports as the PNG it shows, and a click opens a head in the head view',
  async () => {
    await panel.locator('vscode-tab-header', { hasText: 'Model view' }).click();
    const canvas = panel.locator('.model-view canvas');
    await canvas.waitFor({ state: 'visible' });
    const drawn = await canvas.evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let inked = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 128) inked++;
      return { width: c.width, height: c.height, inked };
    });
    assert.ok(drawn.inked > 32 * 40, `the model view: ${JSON.stringify(drawn)}`);
    await runCommand(page, 'Notifications: Clear All Notifications');
    await shot('02g-model-view');
    // Exported as a PNG of the same size as the view.
    const png = path.join(server.workspace, 'fib-model-view.png');
    await exportAs('PNG image', png);
    const bytes = await waitForFile(png);
    assert.deepEqual([bytes.readUInt32BE(16), bytes.readUInt32BE(20)], [drawn.width, drawn.height], 'the PNG’s size');
    // A click on layer 2, head 3's picture: the head view opens on it, and the pickers follow.
    const box = (await canvas.boundingBox())!;
    const step = (box.width - 34) / 8;
    await canvas.click({ position: { x: 34 + 3 * step + (step - 6) / 2, y: 18 + 2 * step + (step - 6) / 2 } });
    await panel.locator('.head-view canvas').waitFor({ state: 'visible' });
    assert.equal(await panel.locator('#layer-select').evaluate((e) => (e as HTMLSelectElement).value), '2');
    assert.equal(await panel.locator('#head-select').evaluate((e) => (e as HTMLSelectElement).value), '3');
  },
);

e2e(
  'the query·key view shows the pinned token’s query against every key, the scores, the mask and the softmax of the chosen head',
  async () => {
    // Layer 2, head 3 is shown (the model view's click above). Pin the last "fibonacci" call's "(".
    const chips = panel.locator('.token-strip .token');
    const count = await chips.count();
    await chips.nth(count - 4).click();
    await panel.locator('vscode-tab-header', { hasText: 'Query · key' }).click();
    const caption = panel.locator('.query-key-caption');
    await caption
      .filter({ hasText: new RegExp(`^Layer 2, head 3 · query .* \\(token ${count - 4}\\) · score = q·k × `) })
      .waitFor({ timeout: 30_000 });
    const canvas = panel.locator('.query-key-view canvas');
    const height = await canvas.evaluate((c: HTMLCanvasElement) => parseFloat(c.style.height));
    assert.equal(height, 12 + (count + 2) * 16, 'the query, then a line per key');
    await runCommand(page, 'Notifications: Clear All Notifications');
    await shot('02h-query-key');
    await chips.nth(count - 4).click(); // unpinned
    await panel.locator('vscode-tab-header', { hasText: 'Head view' }).click();
  },
);

e2e(
  'Whole words: the panel and the editor’s hover show words, not sub-word tokens, until it is switched off',
  async () => {
    const chips = panel.locator('.token-strip .token');
    const tokens = await chips.count();
    await panel.locator('#word-level').click();
    for (let i = 0; i < 50 && (await chips.count()) === tokens; i++) await page.waitForTimeout(100);
    const words = await chips.allInnerTexts();
    assert.ok(words.length < tokens, `${words.length} words from ${tokens} tokens`);
    assert.ok(words.includes('·fibonacci'), words.join('|'));
    await runCommand(page, 'Notifications: Clear All Notifications');
    await shot('02i-whole-words');
    // The host has the words too: hovering "fibonacci" in the editor names whole words.
    const fib = page.locator('.editor-instance .view-line span span', { hasText: /^\s*fibonacci$/ }).nth(1);
    const hover = page.locator('.monaco-hover:visible', { hasText: 'Attention Explorer' });
    for (let i = 0; i < 3 && !(await hover.isVisible()); i++) {
      await fib.hover();
      await hover.waitFor({ timeout: 5_000 }).catch(() => undefined);
    }
    assert.match(await hover.locator('code').first().innerText(), /fibonacci/);
    await shot('02j-whole-words-hover');
    await page.keyboard.press('Escape');
    await panel.locator('#word-level').click();
    for (let i = 0; i < 50 && (await chips.count()) !== tokens; i++) await page.waitForTimeout(100);
    assert.equal(await chips.count(), tokens);
  },
);

e2e(
  'selecting several tokens in the editor focuses them together: the panel sums their rows, the editor shades the sum',
  async () => {
    const fib = page.locator('.editor-instance .view-line span span', { hasText: /^\s*fibonacci$/ }).nth(1);
    await fib.dblclick();
    await panel
      .locator('.details-title', { hasText: /^“.*fibonacci.*” \(tokens \d+–\d+, their rows summed\)/ })
      .waitFor({ timeout: 10_000 });
    assert.ok((await panel.locator('.token-strip .token.focused').count()) >= 2);
    await page.waitForFunction(() => document.querySelectorAll('.editor-instance .view-overlays .cdr').length > 1);
    await shot('02k-several-tokens');
    // A cursor again: one token, and the panel lets go of the sum.
    await page.keyboard.press('ArrowRight');
    await panel.locator('.details-title', { hasText: 'their rows summed' }).waitFor({ state: 'detached' });
  },
);

e2e('the token under the cursor shades the tokens it attends to; Clear Attention removes it', async () => {
  const fib = page.locator('.editor-instance .view-line span span', { hasText: /^\s*fibonacci$/ });
  await fib.nth(2).click();
  await page.waitForFunction(() => document.querySelectorAll('.editor-instance .view-overlays .cdr').length > 0);
  let shaded: number[] = [];
  for (let i = 0; i < 50 && shaded.length === 0; i++) {
    shaded = await shadedSpans();
    if (!shaded.length) await page.waitForTimeout(100);
  }
  assert.ok(shaded.length >= 1, 'some tokens are shaded');
  await shot('03-editor-shading');
  // The panel pins the same token when asked from the hover's link command.
  await runCommand(page, 'Attention Explorer: Clear Attention');
  await page.waitForTimeout(300);
  assert.deepEqual(await shadedSpans(), []);
});

e2e(
  'Show Surprisal shades every analysed token by how unexpected it was, after turning predictions on when asked; the hover adds what the model expected and predicts next',
  async () => {
    const surprisalSpans = (): Promise<number[]> => shadedSpans(SHADE_RGB.surprisal);
    // Predictions are off: the command offers to turn them on and analyse the text again.
    await runCommand(page, 'Attention Explorer: Show Surprisal (Toggle)');
    const toast = page.locator('.notifications-toasts', { hasText: 'surprisal needs the model' });
    await toast.locator('.monaco-button', { hasText: 'Turn On and Analyse Again' }).click();
    try {
      await panel.locator('.surprisal').waitFor({ timeout: 60_000 });
      let shaded: number[] = [];
      for (let i = 0; i < 100 && shaded.length < 20; i++) {
        shaded = await surprisalSpans();
        if (shaded.length < 20) await page.waitForTimeout(100);
      }
      const cells = await panel.locator('.surprisal-cell').count();
      assert.ok(shaded.length >= cells / 2, `${shaded.length} shaded spans for ${cells} tokens`);
      assert.ok(new Set(shaded).size >= 3, `shades ${[...new Set(shaded)].join(', ')}: surprisal varies`);
      assert.deepEqual(await shadedSpans(), [], 'the attention’s shading makes way');
      // The cursor on the first token (no selection over the shading): still no attention's shading.
      await page.locator('.editor-instance .view-line').first().click();
      await page.keyboard.press('Control+Home');
      await page.waitForTimeout(300);
      assert.deepEqual(await shadedSpans(), []);
      await shot('04a-surprisal-shading');

      // The hover: the token's surprisal (as the panel's strip gives it), what was expected, what comes next.
      const hover = page.locator('.monaco-hover:visible', { hasText: 'Predicted next' });
      const returns = page.locator('.editor-instance .view-line span span', { hasText: /^return$/ });
      for (let i = 0; i < 3 && !(await hover.isVisible()); i++) {
        await returns.nth(1).hover();
        await hover.waitFor({ timeout: 5_000 }).catch(() => undefined);
      }
      const text = await hover.innerText();
      const index = /\(token (\d+)\)/.exec(text)?.[1] ?? assert.fail(text);
      const bits = /Surprisal (\d+\.\d) bits \(p [\d.e-]+\) · expected here: (.*)/.exec(text) ?? assert.fail(text);
      const cell = panel.locator(`.surprisal-cell[data-index="${index}"]`);
      assert.equal(Number(await cell.getAttribute('data-bits')).toFixed(1), bits[1]);
      assert.equal(bits[2].match(/(\d+%|<1%)/g)?.length, 5, bits[2]);
      const next = /Predicted next: (.*)/.exec(text)?.[1] ?? assert.fail(text);
      assert.equal(next.match(/(\d+%|<1%)/g)?.length, 5, next);
      await shot('04b-surprisal-hover');
      await page.keyboard.press('Escape');

      // Off: the surprisal's shading goes, and the attention's follows the cursor again.
      await runCommand(page, 'Attention Explorer: Show Surprisal (Toggle)');
      for (let i = 0; i < 50 && (await surprisalSpans()).length; i++) await page.waitForTimeout(100);
      assert.deepEqual(await surprisalSpans(), []);
      await page
        .locator('.editor-instance .view-line span span', { hasText: /^\s*fibonacci$/ })
        .nth(2)
        .click();
      for (let i = 0; i < 50 && !(await shadedSpans()).length; i++) await page.waitForTimeout(100);
      assert.ok((await shadedSpans()).length >= 1);
    } finally {
      await setPredictions(false);
    }
  },
);

e2e('editing the analysed text marks the result stale in the panel and the hover', async () => {
  await page.keyboard.press('Control+Home');
  await page.keyboard.press('End');
  await page.keyboard.type('  # edited');
  await panel
    .locator('.notice.warning', { hasText: 'The text changed since this analysis' })
    .waitFor({ timeout: 10_000 });
  await page.locator('.statusbar-item', { hasText: /code-prose-gpt · .* · stale/ }).waitFor();
  await page
    .locator('.editor-instance .view-line span span', { hasText: /^\s*fibonacci$/ })
    .first()
    .hover();
  await page
    .locator('.monaco-hover:visible', { hasText: 'The text changed since this analysis' })
    .waitFor({ timeout: 15_000 });
  await shot('04-stale');
  await page.keyboard.press('Escape');
});

e2e('an empty document gets a message, not a panel error', async () => {
  await openFile('empty.txt');
  await runCommand(page, 'Attention Explorer: Show Attention for Selection');
  await page.locator('.notifications-toasts', { hasText: 'the document is empty' }).waitFor({ timeout: 10_000 });
  await shot('05-empty-document');
  await page.keyboard.press('Escape');
});

e2e('a 2 MB selection is analysed up to maxTokens in windows, and the panel says so', async () => {
  await openFile('big.ts');
  await page.keyboard.press('Control+A');
  await runCommand(page, 'Attention Explorer: Show Attention for Selection');
  const header = await waitForRun(/ 1024 tokens/);
  assert.match(header, /1024 tokens/);
  await panel.locator('.notice', { hasText: 'Only the first 1024 tokens were analysed' }).waitFor();
  await panel.locator('.notice', { hasText: /analysed in \d+ windows/ }).waitFor();
  await shot('06-two-megabytes');
});

e2e(
  'in a high-contrast theme the views use its colours: the 1,024-token result in the model view and the head view',
  async () => {
    const theme = await chooseTheme('Dark High Contrast');
    await page.locator('.monaco-workbench.hc-black').waitFor({ timeout: 10_000 });
    await panel.locator('vscode-tab-header', { hasText: 'Model view' }).click();
    await panel.locator('.model-view canvas').waitFor({ state: 'visible' });
    await shot('06b-high-contrast-model-view-1024');
    const timings = JSON.parse((await panel.locator('body').getAttribute('data-model-view')) ?? '{}') as {
      paintMs?: number;
    };
    assert.ok((timings.paintMs ?? 0) > 0, 'the model view painted');
    await panel.locator('vscode-tab-header', { hasText: 'Head view' }).click();
    await panel.locator('.token-strip .token').nth(3).click();
    await shot('06c-high-contrast-head-view');
    await panel.locator('.token-strip .token').nth(3).click();
    await chooseTheme(theme);
    await page.locator('.monaco-workbench.hc-black').waitFor({ state: 'detached', timeout: 10_000 });
  },
);

/** Picks a colour theme by its label in Preferences: Color Theme; returns the one that was in use. */
async function chooseTheme(label: string): Promise<string> {
  await runCommand(page, 'Preferences: Color Theme');
  // Earlier pickers' lists stay in the page, hidden: only the open one's rows count.
  const rows = page.locator('.quick-input-widget:visible .quick-input-list .monaco-list-row');
  const current = (
    await rows.locator('.label-name').and(page.locator('.focused .label-name')).first().innerText()
  ).trim();
  await page.keyboard.type(label);
  await rows.filter({ hasText: label }).first().click();
  return current;
}

e2e('binary-looking text is analysed with its control characters made visible', async () => {
  await openFile('binary.txt');
  await page.keyboard.press('Control+A');
  // This time from the keybinding.
  await page.keyboard.press('Control+Alt+A');
  await waitForRun(/ ms · \d+ tokens/);
  await panel.locator('.token-strip .token', { hasText: '␁' }).first().waitFor();
  await shot('07-binary-text');
});
