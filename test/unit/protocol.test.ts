import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHostMessage, parseWebviewMessage } from '../../src/common/protocol';

test('well-formed messages pass validation in both directions', () => {
  assert.ok(parseWebviewMessage({ type: 'ready' }).ok);
  assert.ok(parseWebviewMessage({ type: 'summary', requestId: 1, view: { layer: 0, head: 'mean' }, summaries: [] }).ok);
  assert.ok(parseHostMessage({ type: 'setView', view: { layer: 2, head: 3 } }).ok);
  assert.ok(parseHostMessage({ type: 'analyze', requestId: 1, text: 'x', source: 'a.ts', origin: { uri: 'file:///a.ts', offset: 0 }, settings: { backend: 'auto', maxTokens: 10, topK: 5 } }).ok);
});

test('malformed messages are rejected with a reason', () => {
  const bad: unknown[] = [
    null, 42, 'ready', [], {}, { type: 'nope' },
    { type: 'summary', requestId: 1, view: { layer: -1, head: 0 }, summaries: [] },
    { type: 'summary', requestId: 1, view: { layer: 0, head: 'median' }, summaries: [] },
    { type: 'summary', requestId: 1, view: { layer: 0, head: 0 }, summaries: [{ attends: [{ index: 'a', weight: 1 }], attendedBy: [] }] },
    { type: 'result', requestId: 1 },
    { type: 'focusToken', requestId: 1, index: 1.5 },
    { type: 'error', requestId: 'x', message: 'm' },
  ];
  for (const m of bad) {
    const r = parseWebviewMessage(m);
    assert.equal(r.ok, false, `accepted ${JSON.stringify(m)}`);
    if (!r.ok) assert.ok(r.error.length > 0);
  }
  assert.equal(parseHostMessage({ type: 'analyze', requestId: 1, text: 5 }).ok, false);
  assert.equal(parseHostMessage({ type: 'revealToken', index: -2 }).ok, false);
});
