import type { CodeServer } from '../test/support/code-server';
import type { TimelineRecord } from '../webview/timeline';

/** One key press measured in VS Code. */
export interface Measured {
  /** Key press → result painted, as the test driver saw it (epoch ms on both ends). */
  wallMs: number;
  timeline: TimelineRecord;
  pressedAt: number;
}

/** The extension's log lines with their times (epoch ms), as VS Code wrote them. */
export function hostEvents(server: CodeServer): { at: number; text: string }[] {
  return server
    .extensionLog()
    .split('\n')
    .map((line) => /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \[\w+\] (.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ at: new Date(m[1].replace(' ', 'T')).getTime(), text: m[2] }));
}

export function stageTable(title: string, m: Measured, host: { at: number; text: string }[]): void {
  const t = m.timeline;
  const rel = (at: number | undefined): string =>
    at === undefined ? '—' : `${((at - m.pressedAt) / 1000).toFixed(2)} s`;
  const span = (k: string): string => (t.spans[k] === undefined ? '—' : `${t.spans[k].toFixed(0)} ms`);
  console.log('');
  console.log(`#### ${title}: ${(m.wallMs / 1000).toFixed(2)} s from the key press to the painted result`);
  console.log('');
  console.log('| stage | at (since the key press) | took |');
  console.log('| --- | ---: | ---: |');
  const activated = host.find((e) => e.text.startsWith('activated') && e.at >= m.pressedAt - 1000);
  if (activated)
    console.log(
      `| extension activated | ${rel(activated.at)} | ${/in (\d+) ms/.exec(activated.text)?.[1] ?? '—'} ms |`,
    );
  const command = host.filter((e) => e.text.startsWith('show attention') && e.at >= m.pressedAt - 1000)[0];
  if (command) console.log(`| command handled, request posted | ${rel(command.at)} | |`);
  if (t.origin >= m.pressedAt - 1000) console.log(`| panel page navigation starts | ${rel(t.origin)} | |`);
  const rows: [string, string, string?][] = [
    ['page script running', 'script'],
    ['page ready (told the host)', 'ready'],
    ['tokenizer loaded (in the worker)', 'tokenizer', 'tokenizer'],
    ['runtime started (WebAssembly instantiated, ORT initialised)', 'runtime', 'runtime'],
    ['runtime (.wasm) fetched', 'runtime fetched', 'fetch runtime'],
    ['model fetched', 'model fetched', 'fetch model'],
    ["runtime read from the panel's cache", 'runtime from the cache'],
    ["prepared graph read from the panel's cache", 'prepared graph from the cache'],
    ['graph parsed + surgery', 'surgery', 'surgery'],
    ['session created (incl. WebAssembly compile on first use)', 'session', 'session'],
    ['warm-up run (none when a request is already waiting)', 'warm-up', 'warm-up'],
    ['engine ready', 'engine ready'],
    ["last result read from the panel's cache (a restored page)", 'restored', "result read from the panel's cache"],
    ['request received by the page', 'request'],
    ['tokenized', 'tokenized', 'tokenize'],
    ['model run (incl. read-back)', 'run', 'run'],
    ['drawn', 'painted', 'draw'],
    ['summaries posted to the host', 'result', 'summarise'],
  ];
  for (const [label, mark, s] of rows) {
    if (t.marks[mark] === undefined && (!s || t.spans[s] === undefined)) continue;
    if (t.marks[mark] !== undefined && t.marks[mark] < m.pressedAt - 1000) continue; // from an earlier load
    console.log(`| ${label} | ${rel(t.marks[mark])} | ${s ? span(s) : ''} |`);
  }
  console.log('');
  const fetched = t.resources.filter((r) => r.startMs + t.origin >= m.pressedAt - 1000);
  if (fetched.length) {
    console.log('| resource fetched by the page | bytes | started (since the key press) | took |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const r of fetched)
      console.log(
        `| ${r.name} | ${r.bytes.toLocaleString('en')} | ${rel(t.origin + r.startMs)} | ${r.ms.toFixed(0)} ms |`,
      );
    console.log('');
  }
  const l = t.longTasks;
  const own = t.ownLongTasks;
  if (t.ownLongTaskList?.length)
    console.log(
      `the panel's own long tasks: ${t.ownLongTaskList.map((x) => `${x.ms.toFixed(0)} ms at ${rel(t.origin + x.startMs)}`).join(', ')}`,
    );
  console.log(
    `long tasks since the panel loaded, on its main thread (shared with the workbench in code-server): ${l.count}, longest ${l.longestMs.toFixed(0)} ms, total ${l.totalMs.toFixed(0)} ms; attributed to the panel's own frame: ${own.count}, longest ${own.longestMs.toFixed(0)} ms, total ${own.totalMs.toFixed(0)} ms`,
  );
}
