import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium } from '../test/support/chromium';
import { ROOT } from '../test/support/paths';
import { serve } from '../test/support/static-server';
import { analyseRequest, openPanelPage, sendToWebview, waitForMessage } from '../test/support/webview-page';
import { bertBaseFolder } from './bench-bert-folder';

/**
 * The panel's views on a finished result, timed in the page the extension generates (headless
 * Chromium, WebAssembly): the first draw, a hover's repaint in the head view, the matrix and the
 * model view (the handler's whole synchronous work: details, strip and the open view), the model
 * view's first paint, the head finder's table, and a PNG export of the open view. Medians of 9
 * hovers. Against the targets, and beside bertviz's model view (DESIGN.md: 9.9 s at 64
 * tokens, 41 s at 128, never painted at 256).
 */
export async function benchViews(): Promise<void> {
  const bert = bertBaseFolder();
  const server = await serve({
    '/dist/': path.join(ROOT, 'dist'),
    '/media/': path.join(ROOT, 'media'),
    '/bert/': bert,
  });
  const browser = await launchChromium(['--disable-background-timer-throttling', '--disable-renderer-backgrounding']);
  console.log('');
  console.log('### the views, on a finished result (medians of 9 hovers; WebAssembly, headless Chromium)');
  console.log('');
  console.log(
    '| model | tokens | first draw | hover: head view | hover: matrix | model view, first paint | hover: model view | head finder table | PNG export: model view | PNG export: head view |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  try {
    const words = 'def return for in range print a b n i'.split(' ');
    const cases = [
      { name: 'bundled (4 × 8)', folder: undefined, tokens: [1024] },
      { name: 'BERT-base (12 × 12)', folder: `${server.url}/bert`, tokens: [512, 1024] },
    ];
    for (const c of cases) {
      const page = await openPanelPage(
        browser,
        server.url,
        { backend: 'wasm', folderUrl: c.folder, modelName: c.folder ? 'bert-base' : undefined },
        [],
        { width: 1280, height: 1000 },
      );
      let id = 1;
      for (const n of c.tokens) {
        // Words of the tokenizer's vocabulary, one token each (BERT adds [CLS] and [SEP]).
        const text = Array.from({ length: n }, (_, i) => words[(i * 7) % words.length]).join(' ');
        const requestId = id++;
        await sendToWebview(page, analyseRequest(requestId, text, { maxTokens: n }, 'bench.txt'));
        const result = await waitForMessage(page, 'result', requestId, 600_000);
        const timings = JSON.parse((await page.evaluate(() => document.body.dataset.timings)) ?? '{}') as {
          draw?: number;
        };
        const head = await hoverMs(page, '.head-view canvas');
        await tab(page, 'Matrix');
        const matrix = await hoverMs(page, '.matrix-view canvas');
        const firstPaint = await tab(page, 'Model view');
        const model = await hoverMs(page, '.model-view canvas');
        const png = await exportMs(page, requestId);
        const table = await headTableMs(page);
        await tab(page, 'Head view');
        const headPng = await exportMs(page, requestId);
        console.log(
          `| ${c.name} | ${result.tokens.length} | ${ms(timings.draw)} | ${ms(head)} | ${ms(matrix)} | ${ms(firstPaint)} | ${ms(model)} | ${ms(table)} | ${ms(png)} | ${ms(headPng)} |`,
        );
      }
      await page.close();
    }
  } finally {
    await browser.close();
    await server.close();
  }
  console.log('');
  console.log('Targets: hover repaint ≤ 16 ms (head view, matrix), ≤ 50 ms (model view); model view ≤ 1 s; PNG ≤ 1 s.');
}

const ms = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? '—' : `${v.toFixed(1)} ms`);

/** Opens a tab by its header; the time of the click's synchronous work (the tab's first draw). */
async function tab(page: Page, name: string): Promise<number> {
  return page.evaluate((title) => {
    const header = [...document.querySelectorAll('vscode-tab-header')].find((h) => h.textContent === title);
    const t = performance.now();
    (header as HTMLElement).click();
    return performance.now() - t;
  }, name);
}

/** From the Heads tab's click to its table of every head (scored in slices, the page answering meanwhile). */
async function headTableMs(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const header = [...document.querySelectorAll('vscode-tab-header')].find((h) => h.textContent === 'Heads');
    const t = performance.now();
    (header as HTMLElement).click();
    while (!document.querySelector('.head-table tbody tr')) await new Promise((r) => setTimeout(r, 2));
    return performance.now() - t;
  });
}

/** The median time the page takes to answer a pointer move over a view (all its synchronous work). */
async function hoverMs(page: Page, selector: string): Promise<number> {
  const times = await page.evaluate((sel) => {
    const c = document.querySelector(sel) as HTMLCanvasElement;
    const r = c.getBoundingClientRect();
    const out: number[] = [];
    for (let i = 0; i < 9; i++) {
      // Points spread over the view, each over another token.
      const x = r.left + ((i + 1) * r.width) / 11;
      const y = r.top + Math.min(r.height - 2, ((i + 1) * r.height) / 11);
      const t = performance.now();
      c.dispatchEvent(new MouseEvent('mousemove', { clientX: x, clientY: y, bubbles: true }));
      out.push(performance.now() - t);
    }
    return out.sort((a, b) => a - b);
  }, selector);
  return times[4];
}

/** From the host's `export` (PNG) to the page's answer. */
async function exportMs(page: Page, requestId: number): Promise<number> {
  return page.evaluate(async (id) => {
    const sent = (window as unknown as { __sent: { type: string; requestId?: number }[] }).__sent;
    const before = sent.length;
    const t = performance.now();
    window.postMessage({ type: 'export', requestId: id, format: 'png' }, '*');
    for (;;) {
      if (sent.slice(before).some((m) => m.type === 'exported' && m.requestId === id)) return performance.now() - t;
      await new Promise((r) => setTimeout(r, 2));
    }
  }, requestId);
}
