import { launchChromium } from '../test/support/chromium';
import { analyseRequest, openPanelPage, sendToWebview, waitForMessage } from '../test/support/webview-page';
import { MiB, rendererPids, vmHwm } from './bench-memory';

/**
 * The panel's own stages on the bundled model, through the panel page itself (the HTML the
 * extension generates, with a stand-in for the VS Code API): tokenize, run (with read-back), the
 * first draw, and the size of the result message the host receives. Second request of each size.
 */
export async function panelStages(serverUrl: string, isolated: boolean): Promise<void> {
  const browser = await launchChromium(['--disable-background-timer-throttling', '--disable-renderer-backgrounding']);
  try {
    // Cross-origin isolated (as VS Code makes webviews with --enable-coi): onnxruntime gets threads.
    const headers: Record<string, string> = isolated
      ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' }
      : {};
    const page = await openPanelPage(browser, serverUrl, { backend: 'wasm' }, [], undefined, headers);
    const threads = await page.evaluate(() => (crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency) : 1));
    console.log('');
    console.log(
      `### the panel, stage by stage (bundled model, WebAssembly, ${threads === 1 ? 'one thread' : `${threads} threads (cross-origin isolated)`}; the text is code, analysed twice, the second shown)`,
    );
    console.log('');
    console.log(
      '| tokens | windows | tokenize | run (incl. read-back) | first draw | summaries for the host | request → result posted | result message | renderer peak so far |',
    );
    console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    const line = 'for (let i = 0; i < items.length; i++) total += items[i].price;\n';
    let id = 1;
    for (const lines of [3, 12, 48]) {
      const text = line.repeat(lines);
      let result;
      let timings: Record<string, number> = {};
      for (let pass = 0; pass < 2; pass++) {
        const requestId = id++;
        await sendToWebview(page, analyseRequest(requestId, text, {}, 'bench.js'));
        result = await waitForMessage(page, 'result', requestId);
        timings = JSON.parse((await page.evaluate(() => document.body.dataset.timings)) ?? '{}') as Record<
          string,
          number
        >;
      }
      const r = result!;
      const ms = (k: string): string => `${(timings[k] ?? NaN).toFixed(1)} ms`;
      // The page and its engine worker share one renderer process.
      const peak = Math.max(...(await rendererPids(browser)).map(vmHwm));
      console.log(
        `| ${r.tokens.length} | ${r.windows} | ${ms('tokenize')} | ${ms('run')} | ${ms('draw')} | ${ms('summarise')} | ${ms('total')} | ${JSON.stringify(r).length.toLocaleString('en')} bytes | ${MiB(peak)} |`,
      );
    }
    await modelViewFigures(page);
  } finally {
    await browser.close();
  }
}

/**
 * The model view of the last result: its first paint (the pictures of every head computed, then
 * drawn) and a hover's repaint, against the issue's targets (1 s and 50 ms).
 */
async function modelViewFigures(page: import('playwright-core').Page): Promise<void> {
  await page.locator('vscode-tab-header', { hasText: 'Model view' }).click();
  await page.waitForFunction(() => document.body.dataset.modelView !== undefined);
  const first = JSON.parse(await page.evaluate(() => document.body.dataset.modelView!)) as {
    atlasMs: number;
    paintMs: number;
  };
  const box = (await page.locator('.model-view canvas').boundingBox())!;
  const repaints: number[] = [];
  for (let i = 0; i < 10; i++) {
    await page.mouse.move(box.x + 40 + i * 7, box.y + 30 + i * 3);
    repaints.push(
      (JSON.parse(await page.evaluate(() => document.body.dataset.modelView!)) as { paintMs: number }).paintMs,
    );
  }
  repaints.sort((a, b) => a - b);
  console.log('');
  console.log(
    `model view of the last result: first paint ${first.paintMs.toFixed(1)} ms (of which the pictures of every head ${first.atlasMs.toFixed(1)} ms; target 1,000 ms), a hover's repaint median ${repaints[5].toFixed(1)} ms, worst ${repaints[9].toFixed(1)} ms of 10 (target 50 ms)`,
  );
}
