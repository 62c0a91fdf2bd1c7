// Models: a broken model file, Choose Model (a folder, an encoder, a Hub id), Manage Model Cache.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  analyseFibonacciWithBundledModel,
  chooseBundledModel,
  chooseFolder,
  chooseHubId,
  e2e,
  e2eSession,
  MIXED,
  hub,
  openFile,
  page,
  panel,
  panelMarks,
  panelTimeline,
  runCommand,
  server,
  setPredictions,
  shot,
  waitForRun,
} from '../support/e2e-session';
import { ROOT } from '../support/paths';
import { oneHeadModel } from '../support/one-head-model';
import { bertWithMlmHead } from '../support/mlm-model';
import { bertTokenizerJson } from '../support/tokenizers';
import { buildGqaDecoder, TINY_QWEN } from '../support/gqa-decoder';
import { quantizeWeights } from '../support/quantize-weights';
import { loadTokenizer } from '../../src/engine/tokenizer';
import { visibleToken } from '../../src/common/token-display';

e2eSession();

e2e(
  'a truncated model file gives a clear error in the panel; the extension keeps working once it is fixed',
  async () => {
    const extDir = fs
      .readdirSync(path.join(path.dirname(server.workspace), 'extensions'))
      .find((d) => d.startsWith('attention-explorer.'));
    assert.ok(extDir);
    const modelFile = path.join(path.dirname(server.workspace), 'extensions', extDir, 'media', 'model', 'model.onnx');
    const good = fs.readFileSync(modelFile);
    await runCommand(page, 'View: Close All Editors');
    fs.writeFileSync(modelFile, good.subarray(0, good.length >> 1));
    try {
      await openFile('fibonacci.py');
      await page.keyboard.press('Control+A');
      await runCommand(page, 'Attention Explorer: Show Attention for Selection');
      await panel
        .locator('.notice.error', { hasText: /not a valid ONNX model|truncated/ })
        .waitFor({ timeout: 60_000 });
      await page
        .locator('.notifications-toasts', { hasText: 'Attention Explorer' })
        .first()
        .waitFor({ timeout: 10_000 });
      await shot('08-truncated-model');
    } finally {
      fs.writeFileSync(modelFile, good);
    }
    // Fixed file, new panel: works again.
    await runCommand(page, 'View: Close All Editors');
    await openFile('fibonacci.py');
    await page.keyboard.press('Control+A');
    await runCommand(page, 'Attention Explorer: Show Attention for Selection');
    await waitForRun();
    await shot('09-recovered');
  },
);

e2e(
  'Choose Model: a local folder in the Hub layout replaces the bundled model in the open panel; a folder without a tokenizer is refused',
  async () => {
    // A copy of the bundled model laid out as the Hub does: onnx/model.onnx, tokenizer.json and config.json above it.
    const dir = path.join(path.dirname(server.workspace), 'my-local-gpt');
    fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });
    const bundled = path.join(ROOT, 'media', 'model');
    fs.copyFileSync(path.join(bundled, 'model.onnx'), path.join(dir, 'onnx', 'model.onnx'));
    fs.copyFileSync(path.join(bundled, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
    fs.copyFileSync(path.join(bundled, 'config.json'), path.join(dir, 'config.json'));
    const noTokenizer = path.join(path.dirname(server.workspace), 'no-tokenizer');
    fs.mkdirSync(noTokenizer, { recursive: true });
    fs.copyFileSync(path.join(bundled, 'model.onnx'), path.join(noTokenizer, 'model.onnx'));

    await analyseFibonacciWithBundledModel();

    await chooseFolder(dir);
    // The panel reloads for the new model (served from outside the extension) and runs the last request again.
    const header = await waitForRun(/^my-local-gpt · /);
    assert.match(header, /4 layers × 8 heads/);
    await page
      .locator('.statusbar-item', { hasText: /my-local-gpt · (WebGPU|wasm) · \d+ ms/ })
      .waitFor({ timeout: 10_000 });
    await shot('10-local-model');

    await chooseFolder(noTokenizer);
    await page
      .locator('.notifications-toasts', { hasText: /No tokenizer\.json next to model\.onnx/ })
      .waitFor({ timeout: 15_000 });
    assert.match(await panel.locator('.run-header').innerText(), /^my-local-gpt · /, 'the previous result stays');
    await shot('11-model-without-tokenizer');

    await chooseBundledModel();
  },
);

e2e(
  'an encoder (BERT with a masked-LM head) from a local folder: full attention, [CLS]/[SEP] marked, every window given them again; with predictions on, each token masked in turn, in the strip and the hover',
  async () => {
    // Hugging Face's BERT fixture with a small WordPiece vocabulary, and a 32-token context so that the
    // sentence runs in windows.
    const dir = path.join(path.dirname(server.workspace), 'tiny-bert');
    fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'onnx', 'model.onnx'), bertWithMlmHead());
    fs.writeFileSync(
      path.join(dir, 'tokenizer.json'),
      bertTokenizerJson(['quick', 'brown', 'fox', 'jumps', 'over', 'lazy', 'dog', '.'], { mask: true }),
    );
    fs.writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({ model_type: 'bert', max_position_embeddings: 32 }),
    );
    await analyseFibonacciWithBundledModel();
    await chooseFolder(dir);
    await waitForRun(/^tiny-bert · /);
    await openFile('fox.txt');
    await page.keyboard.press('Control+A');
    await runCommand(page, 'Attention Explorer: Show Attention for Selection');
    const header = await waitForRun(/^tiny-bert · .* 82 tokens/);
    assert.match(header, /2 layers × 4 heads · full \(encoder\) attention/);
    const chips = panel.locator('.token-strip .token');
    assert.equal(await chips.first().innerText(), '[CLS]');
    assert.match((await chips.first().getAttribute('class')) ?? '', /special/);
    assert.equal(await chips.last().innerText(), '[SEP]');
    assert.equal(await chips.nth(1).innerText(), 'The');
    await panel
      .locator('.notice', {
        hasText:
          /analysed in 4 windows .* Every window begins with \[CLS\] and ends with \[SEP\], as the model expects/,
      })
      .waitFor();
    // Pinning [CLS] marks the tokens that attend to it: those of the last window too, which run
    // with their own copy of [CLS].
    await chips.first().click();
    const lastDog = chips.nth(79);
    assert.equal(await lastDog.innerText(), 'dog');
    assert.notEqual(
      await lastDog.evaluate((e: HTMLElement) => e.style.boxShadow),
      '',
      'the last window attends to [CLS]',
    );
    await shot('16-encoder-windows');

    // Predictions on: a model that attends both ways predicts each token masked in a run of its own.
    await setPredictions(true);
    try {
      await runCommand(page, 'Attention Explorer: Show Attention for Selection');
      const caption = panel.locator('.surprisal-caption', { hasText: 'each token masked in turn' });
      await caption.waitFor({ timeout: 60_000 });
      assert.match(await caption.innerText(), /mean pseudo-loss \d+\.\d\d nats per token .* over 80 predicted tokens/);
      const bits = await panel
        .locator('.surprisal-cell')
        .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.bits ?? ''));
      assert.equal(bits.length, 82);
      assert.equal(bits[0], '', '[CLS] is not masked');
      assert.ok(bits.slice(1, 81).every((b) => b !== '' && Number(b) >= 0));
      // The editor's hover: the token's surprisal with what the model fills in there; nothing "next".
      const hover = page.locator('.monaco-hover:visible', { hasText: 'masked, the model fills in' });
      const fox = page.locator('.editor-instance .view-line span span', { hasText: /fox/ }).first();
      for (let i = 0; i < 3 && !(await hover.isVisible()); i++) {
        await fox.hover();
        await hover.waitFor({ timeout: 5_000 }).catch(() => undefined);
      }
      const text = await hover.innerText();
      const index = /\(token (\d+)\)/.exec(text)?.[1] ?? assert.fail(text);
      const said =
        /Surprisal (\d+\.\d) bits \(p [\d.e-]+\) · masked, the model fills in: (.*)/.exec(text) ?? assert.fail(text);
      assert.equal(Number(bits[Number(index)]).toFixed(1), said[1]);
      assert.equal(said[2].match(/(\d+%|<1%)/g)?.length, 5, said[2]);
      assert.doesNotMatch(text, /Predicted next/);
      await shot('16b-masked-surprisal');
      await page.keyboard.press('Escape');
    } finally {
      await setPredictions(false);
    }
    await chooseBundledModel();
  },
);

e2e(
  'a Qwen-family export (GroupQueryAttention with rotary inside, 4-bit weights, the real Qwen2.5 tokenizer): its attention in the panel, every token on its own text',
  async () => {
    // A tiny decoder as the model builder writes Qwen2.5 (random weights, Qwen2.5's vocabulary), and the
    // tokenizer.json Qwen2.5 ships.
    const dir = path.join(path.dirname(server.workspace), 'tiny-qwen');
    fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });
    buildGqaDecoder(path.join(dir, 'onnx'), 'model', TINY_QWEN, 'q4');
    const tokenizer = path.join(ROOT, 'node_modules', '@lenml', 'tokenizer-qwen2_5', 'models', 'tokenizer.json');
    fs.copyFileSync(tokenizer, path.join(dir, 'tokenizer.json'));
    fs.writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({
        model_type: 'qwen2',
        num_hidden_layers: 2,
        num_attention_heads: 4,
        max_position_embeddings: 512,
      }),
    );
    const expected = loadTokenizer(fs.readFileSync(tokenizer, 'utf8')).encode(MIXED).tokens.length;
    await analyseFibonacciWithBundledModel();
    await chooseFolder(dir);
    await waitForRun(/^tiny-qwen · /);
    await openFile('mixed.py');
    await page.keyboard.press('Control+A');
    await runCommand(page, 'Attention Explorer: Show Attention for Selection');
    const header = await waitForRun(new RegExp(`^tiny-qwen · .* ${expected} tokens`));
    assert.match(header, /2 layers × 4 heads · causal/);
    // The strip's tokens, side by side, spell the text: each covers its own characters (NFC-composed
    // accents, CJK, emoji, the combining mark), none is empty or shown as raw bytes.
    const chips = await panel.locator('.token-strip .token').allInnerTexts();
    assert.equal(chips.length, expected);
    assert.equal(chips.join(''), visibleToken(MIXED));
    assert.ok(!chips.some((c) => c === '∅' || /<0x/.test(c)), chips.join('|'));
    assert.equal(await panel.locator('.notice', { hasText: /approximate/ }).count(), 0);
    // Pinning the token with 京 shades, in the editor, what it attends to.
    await panel.locator('.token-strip .token', { hasText: '京' }).first().click();
    await shot('16c-qwen-gqa-q4');
    await chooseBundledModel();
  },
);

e2e(
  'a model of one layer with one head: the model view shows its one picture, the head finder its one row',
  async () => {
    const dir = path.join(path.dirname(server.workspace), 'one-head');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'model.onnx'), oneHeadModel(64));
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), bertTokenizerJson(['quick', 'brown', 'fox', 'jumps', 'over']));
    await analyseFibonacciWithBundledModel();
    await chooseFolder(dir);
    await waitForRun(/^one-head · /);
    await openFile('fox.txt');
    await page.keyboard.press('Control+A');
    await runCommand(page, 'Attention Explorer: Show Attention for Selection');
    const header = await waitForRun(/^one-head · .* tokens/);
    assert.match(header, /1 layer × 1 head · full \(encoder\) attention/);
    await panel.locator('vscode-tab-header', { hasText: 'Model view' }).click();
    const canvas = panel.locator('.model-view canvas');
    await canvas.waitFor({ state: 'visible' });
    const box = (await canvas.boundingBox())!;
    assert.ok(box.width < 300 && box.height < 300, `one picture, not a huge one: ${JSON.stringify(box)}`);
    await canvas.hover({ position: { x: 34 + 40, y: 18 + 40 } });
    await panel.locator('.model-view .matrix-tip', { hasText: /^layer 0, head 0/ }).waitFor();
    await shot('16b-one-head-model-view');
    await panel.locator('vscode-tab-header', { hasText: 'Heads' }).click();
    assert.equal(await panel.locator('.head-table tbody tr').count(), 1);
    await panel.locator('vscode-tab-header', { hasText: 'Head view' }).click();
    await chooseBundledModel();
  },
);

e2e(
  'Choose Model from a Hugging Face model id: downloaded with progress, used, listed in Manage Model Cache and deleted there',
  async () => {
    await analyseFibonacciWithBundledModel();

    // An id that does not exist: a clear message, nothing lost.
    await chooseHubId('nobody/nothing');
    await page
      .locator('.notifications-toasts', {
        hasText: /nobody\/nothing was not found on http:\/\/127\.0\.0\.1:\d+ \(no such model id, or it is private\)/,
      })
      .waitFor({ timeout: 15_000 });
    assert.match(await panel.locator('.run-header').innerText(), /^code-prose-gpt · /);

    // A model too big for the panel: refused with the reason before anything is downloaded.
    await chooseHubId('test-org/huge-llm');
    await page
      .locator('.notifications-toasts', {
        hasText:
          /no variant of test-org\/huge-llm fits in the panel's memory: the smallest, onnx\/model\.onnx, needs about \d+\.\d GiB/,
      })
      .waitFor({ timeout: 15_000 });
    await shot('12a-hub-model-too-big');
    assert.ok(
      !hub.requests.some(
        (q) => q.method === 'GET' && q.url.startsWith('/storage/') && decodeURIComponent(q.url).includes('huge-llm'),
      ),
      'no graph was downloaded',
    );

    // Two variants: each with its precision, download size and whether it fits; the smallest that fits first.
    await chooseHubId('test-org/tiny-gpt');
    const variants = page.locator('.quick-input-list .monaco-list-row');
    await variants.filter({ hasText: 'onnx/model_q4.onnx' }).waitFor({ timeout: 30_000 });
    const rows = await variants.allInnerTexts();
    assert.match(
      rows[0],
      /onnx\/model\.onnx[\s\S]*float32 · 2\d\.\d MB · suggested[\s\S]*Fits: needs about \d+ MB of WebAssembly's 4\.0 GiB \(weights 20 MB, attention of 256 tokens 8 MB\)/,
    );
    assert.match(rows[1], /onnx\/model_q4\.onnx[\s\S]*4-bit weights · 2\d\.\d MB/);
    await shot('12b-hub-variants');
    await page.keyboard.press('Enter');
    const header = await waitForRun(/^tiny-gpt · /);
    assert.match(header, /4 layers × 8 heads/);
    assert.ok(
      hub.requests.some((q) => q.url.startsWith('/storage/')),
      'the graph came through the LFS redirect',
    );
    await shot('12-hub-model');

    await runCommand(page, 'Attention Explorer: Manage Model Cache');
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'test-org/tiny-gpt' });
    await row.waitFor();
    assert.match(await row.innerText(), /20\.\d MB/);
    await shot('13-model-cache');
    await row.click(); // toggles its checkbox
    await page.locator('.quick-input-widget .monaco-button', { hasText: 'OK' }).click();
    await page.locator('.notifications-toasts', { hasText: 'deleted test-org/tiny-gpt' }).waitFor({ timeout: 15_000 });
    await waitForRun(/^code-prose-gpt · /);
  },
);

e2e(
  "Manage Model Cache empties the panel's own cache: the open panel reloads and prepares the graph from the model again",
  async () => {
    await analyseFibonacciWithBundledModel();
    const before = (await panelTimeline()).origin;
    await runCommand(page, 'Attention Explorer: Manage Model Cache');
    const row = page.locator('.quick-input-list .monaco-list-row', {
      hasText: 'Prepared graphs and runtime kept by the panel',
    });
    await row.waitFor();
    await row.click();
    await page.locator('.quick-input-widget .monaco-button', { hasText: 'OK' }).click();
    // A new page: its graph comes from the model file and goes through surgery again.
    for (let i = 0; ; i++) {
      const t = await panelTimeline().catch(() => ({ origin: 0, marks: {} as Record<string, number> }));
      if (t.origin !== before && t.origin > 0 && t.marks.surgery && t.marks.result) break;
      if (i > 600) throw new Error(`the panel did not prepare the graph again: ${JSON.stringify(t)}`);
      await page.waitForTimeout(100);
    }
    const marks = await panelMarks();
    assert.equal(marks['prepared graph from the cache'], undefined);
    // The model file came from the extension host's local server, not through VS Code's relay.
    assert.ok(marks['local server used'], JSON.stringify(marks));
    assert.ok(!Object.keys(marks).some((k) => k.startsWith('local server failed')), JSON.stringify(marks));
    await waitForRun(/^code-prose-gpt · /);
    assert.match(server.extensionLog(), /the panel's cache of prepared graphs will be emptied/);
  },
);

e2e(
  'with attentionExplorer.predictions on, the panel shows the surprisal strip with the loss and perplexity; off, it is gone',
  async () => {
    await setPredictions(true);
    try {
      await analyseFibonacciWithBundledModel();
      const strip = panel.locator('.surprisal');
      await strip.waitFor({ timeout: 60_000 });
      assert.match(
        (await panel.locator('.surprisal-caption').textContent()) ?? '',
        /mean loss \d+\.\d\d nats per token · perplexity \d+\.\d · over \d+ predicted tokens/,
      );
      assert.equal(await panel.locator('.surprisal-cell').count(), await panel.locator('.token-strip .token').count());
      await panel.locator('.surprisal-cell').nth(5).hover();
      await shot('19-surprisal-strip');
    } finally {
      await setPredictions(false);
    }
    await analyseFibonacciWithBundledModel();
    await panel.locator('.surprisal').waitFor({ state: 'hidden' });
  },
);

e2e(
  'Compare with Previous Result: the text before and after an edit, every head’s difference over the shared tokens, and the chosen head before, now and their difference',
  async () => {
    await analyseFibonacciWithBundledModel();
    const before = await panel.locator('.token-strip .token').count();
    // An edit inside the text (made on disk, which VS Code takes into the open editor): "x = " on line 4.
    const file = path.join(server.workspace, 'fibonacci.py');
    const original = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, original.replace('    return fibonacci(', '    x = return fibonacci('));
    await page.locator('.editor-instance .view-line', { hasText: 'x = return' }).waitFor();
    try {
      await page.keyboard.press('Control+A');
      await runCommand(page, 'Attention Explorer: Show Attention for Selection');
      await waitForRun(new RegExp(`· (?!${before} tokens)\\d+ tokens`));
      await runCommand(page, 'Attention Explorer: Compare with Previous Result');
      const caption = panel.locator('.compare-caption');
      await caption.waitFor({ timeout: 30_000 });
      const [, now, was, shared] =
        /\((\d+) tokens\) · before: .* \((\d+) tokens\) · (\d+) tokens in common/.exec(await caption.innerText()) ??
        assert.fail(await caption.innerText());
      assert.equal(Number(was), before);
      assert.ok(Number(now) > before && Number(shared) === before, `${now} now, ${was} before, ${shared} shared`);
      const cells = panel.locator('.compare-cell');
      assert.equal(await cells.count(), 32);
      const values = (await cells.allInnerTexts()).map(Number);
      assert.ok(values.some((v) => v > 0) && values.every((v) => v >= 0 && v <= 1), values.join(' '));
      // A cell shows that head: before, now and their difference over the shared tokens.
      await panel.locator('.compare-cell[data-layer="3"][data-head="7"]').click();
      await panel.locator('.compare-pictures figcaption', { hasText: 'Now (layer 3, head 7)' }).waitFor();
      assert.equal(await panel.locator('.compare-pictures canvas').count(), 3);
      assert.equal(await panel.locator('#head-select').evaluate((e) => (e as HTMLSelectElement).value), '7');
      await panel.locator('.compare-pictures').scrollIntoViewIfNeeded();
      await shot('21-compare');
    } finally {
      // The file as it was, for the tests after this one.
      fs.writeFileSync(file, original);
      await page.locator('.editor-instance .view-line', { hasText: 'x = return' }).waitFor({ state: 'detached' });
    }

    // The same text under another model with the same tokenizer (the bundled model with 4-bit
    // weights): Choose Model reloads the panel, and the result before is the other model's.
    await analyseFibonacciWithBundledModel();
    const q4 = path.join(path.dirname(server.workspace), 'code-prose-gpt-q4');
    fs.mkdirSync(q4, { recursive: true });
    const bundled = path.join(ROOT, 'media', 'model');
    const { quantized } = quantizeWeights(
      new Uint8Array(fs.readFileSync(path.join(bundled, 'model.onnx'))),
      'matmulnbits',
    );
    fs.writeFileSync(path.join(q4, 'model.onnx'), quantized);
    for (const f of ['tokenizer.json', 'config.json']) fs.copyFileSync(path.join(bundled, f), path.join(q4, f));
    try {
      await chooseFolder(q4);
      await waitForRun(/^code-prose-gpt-q4 · /);
      await runCommand(page, 'Attention Explorer: Compare with Previous Result');
      const caption = await panel.locator('.compare-caption').innerText();
      assert.match(
        caption,
        new RegExp(
          `Now: fibonacci\\.py.*, code-prose-gpt-q4 \\(${before} tokens\\) · before: fibonacci\\.py.*, code-prose-gpt \\(${before} tokens\\) · ${before} tokens in common`,
        ),
      );
      const values = (await panel.locator('.compare-cell').allInnerTexts()).map(Number);
      assert.ok(
        values.some((v) => v > 0),
        `4-bit weights move some head: ${values.join(' ')}`,
      );
      await panel.locator('.compare-grid').scrollIntoViewIfNeeded();
      await shot('21b-compare-models');
      // Another tokenizer: refused, and why.
      const oneHead = path.join(path.dirname(server.workspace), 'one-head-compare');
      fs.mkdirSync(oneHead, { recursive: true });
      fs.writeFileSync(path.join(oneHead, 'model.onnx'), oneHeadModel(64));
      fs.writeFileSync(path.join(oneHead, 'tokenizer.json'), bertTokenizerJson(['def', 'return', 'fibonacci']));
      await chooseFolder(oneHead);
      await waitForRun(/^one-head-compare · /);
      await runCommand(page, 'Attention Explorer: Compare with Previous Result');
      await panel
        .locator('.compare-refusal', {
          hasText:
            'Cannot compare: the two results come from different tokenizers (code-prose-gpt-q4 and one-head-compare)',
        })
        .waitFor();
    } finally {
      await panel.locator('vscode-tab-header', { hasText: 'Head view' }).click();
      await chooseBundledModel();
    }
  },
);

e2e(
  'an intervention from the panel: knock out a head in the head finder and hide a token in the text; the run shows the loss before and after, Δ surprisal and the heads that changed, then the plain run again',
  async () => {
    await setPredictions(true);
    const lossIn = async (): Promise<number> =>
      Number(
        /mean loss (\d+\.\d\d)/.exec((await panel.locator('.surprisal > .surprisal-caption').textContent()) ?? '')?.[1],
      );
    try {
      await analyseFibonacciWithBundledModel();
      await panel.locator('.surprisal').waitFor({ timeout: 60_000 });
      const plainLoss = await lossIn();
      await panel.locator('#intervene').click();
      await panel.locator('.intervention-hint').waitFor();
      // Layer 3, head 7 (the model's induction head) from the head finder; the token "n" of "fibonacci(n)".
      await panel.locator('vscode-tab-header', { hasText: 'Heads' }).click();
      await panel.locator('.head-table tr[data-layer="3"][data-head="7"]').click();
      await panel.locator('.head-table tr.knocked-out[data-layer="3"][data-head="7"]').waitFor();
      const chip = panel.locator('.token-strip .token', { hasText: /^n$/ }).first();
      await chip.click();
      assert.match((await chip.getAttribute('class')) ?? '', /hidden-token/);
      assert.deepEqual(await panel.locator('.intervention-chip').allInnerTexts(), ['L3·H7 ×', '“n” ×']);
      await panel.locator('#intervention-run').click();
      const title = panel.locator('.intervention-title');
      await title.waitFor({ timeout: 60_000 });
      assert.equal(await title.innerText(), 'With an intervention: knocked out L3·H7 · hid “n”');
      const summary = await panel.locator('.intervention-summary').innerText();
      const [, before, after, kl] =
        /Mean loss (\d+\.\d\d) → (\d+\.\d\d) nats per token \([+-]\d+\.\d\d\) · mean KL (\d+\.\d{3}) bits per token/.exec(
          summary,
        ) ?? assert.fail(summary);
      // The loss before, worked back from each token's Δ surprisal, is the plain run's own.
      assert.ok(Math.abs(Number(before) - plainLoss) <= 0.011, `${before} vs the plain run's ${plainLoss}`);
      assert.ok(Math.abs(Number(after) - (await lossIn())) <= 0.011, `${after} vs the strip's`);
      assert.ok(Number(kl) > 0, summary);
      assert.equal(
        await panel.locator('.intervention-deltas .surprisal-cell').count(),
        await panel.locator('.token-strip .token').count(),
      );
      const changed = await panel.locator('.intervention-head').allInnerTexts();
      assert.ok(changed.length >= 1 && !changed.some((h) => h.startsWith('L3·H7 ')), changed.join(' | '));
      await panel.locator('vscode-tab-header', { hasText: 'Model view' }).click();
      await panel.locator('.model-view canvas').scrollIntoViewIfNeeded();
      await shot('20-intervention');
      // A changed head opens in the head view.
      const [, layer, head] = /^L(\d+)·H(\d+)/.exec(changed[0]) ?? [];
      await panel.locator('.intervention-head').first().click();
      for (
        let i = 0;
        i < 50 && (await panel.locator('#head-select').evaluate((e) => (e as HTMLSelectElement).value)) !== head;
        i++
      )
        await page.waitForTimeout(100);
      assert.equal(await panel.locator('#layer-select').evaluate((e) => (e as HTMLSelectElement).value), layer);
      assert.equal(await panel.locator('#head-select').evaluate((e) => (e as HTMLSelectElement).value), head);
      // Back to the plain run: its loss again, nothing hidden.
      await panel.locator('#intervention-reset').first().click();
      await title.waitFor({ state: 'detached', timeout: 60_000 });
      assert.equal(await lossIn(), plainLoss);
      assert.equal(await panel.locator('.token-strip .token.hidden-token').count(), 0);
      await panel.locator('#intervene').click();
      await panel.locator('.intervention').waitFor({ state: 'hidden' });

      // The same from the palette: Knock Out Heads… (ticked in a QuickPick), Hide Selection from Attention.
      await runCommand(page, 'Attention Explorer: Knock Out Heads…');
      await page.locator('.quick-input-widget input').fill('Layer 2 · Head 6');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Layer 2 · Head 6' }).first().click();
      await page.keyboard.press('Enter');
      await title.filter({ hasText: 'knocked out L2·H6' }).waitFor({ timeout: 60_000 });
      assert.equal(await panel.locator('.intervention-head', { hasText: /^L2·H6 / }).count(), 0);
      await page
        .locator('.editor-instance .view-line span span', { hasText: /^\s*fibonacci$/ })
        .nth(1)
        .dblclick();
      await runCommand(page, 'Attention Explorer: Hide Selection from Attention');
      await title.filter({ hasText: /^With an intervention: hid “·fibonacci”$/ }).waitFor({ timeout: 60_000 });
      assert.ok((await panel.locator('.token-strip .token.hidden-token').count()) >= 1);
      await shot('20b-intervention-from-palette');
      await panel.locator('#intervention-reset').first().click();
      await title.waitFor({ state: 'detached', timeout: 60_000 });
    } finally {
      await setPredictions(false);
    }
  },
);
