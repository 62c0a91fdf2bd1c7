import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { COMMANDS } from '../../src/host/commands';
import { disposeAll } from '../../src/host/dispose-all';
import { cachedModelDir, deleteCachedModel, isInside, listCachedModels } from '../../src/host/model-cache';
import { RecentModels } from '../../src/host/recent-models';
import { focusAfter, focusAfterKey, focusAfterLeave } from '../../webview/views/focus';
import { tokenInMarkdownTable, visibleToken } from '../../src/common/token-display';
import { ROOT } from '../support/paths';

test("the command ids are exactly package.json's commands, each with a title; the hover's command is hidden from the palette", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    contributes: {
      commands: { command: string; title: string }[];
      menus: { commandPalette: { command: string; when: string }[] };
      keybindings: { command: string }[];
    };
    activationEvents: string[];
  };
  const contributed: string[] = pkg.contributes.commands.map((c) => c.command).sort();
  const ids: string[] = Object.values(COMMANDS);
  assert.deepEqual(contributed, [...ids].sort());
  for (const c of pkg.contributes.commands) assert.ok(c.title.length > 0, c.command);
  const hidden: { command: string; when: string }[] = [{ command: COMMANDS.revealToken, when: 'false' }];
  assert.deepEqual(pkg.contributes.menus.commandPalette, hidden);
  for (const k of pkg.contributes.keybindings) assert.ok(contributed.includes(k.command), k.command);
});

test('the model cache lists each downloaded model with its size on disk, skips stray files, and deletes one with its empty owner folder', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-cache-'));
  assert.deepEqual(listCachedModels(path.join(root, 'none')), []);
  const bert = cachedModelDir(root, 'Xenova/bert-base-uncased');
  const gpt = cachedModelDir(root, 'Xenova/gpt2');
  const other = cachedModelDir(root, 'someone/tiny');
  fs.mkdirSync(path.join(bert, 'onnx'), { recursive: true });
  fs.writeFileSync(path.join(bert, 'onnx', 'model.onnx'), Buffer.alloc(3000));
  fs.writeFileSync(path.join(bert, 'tokenizer.json'), Buffer.alloc(200));
  fs.mkdirSync(gpt, { recursive: true });
  fs.writeFileSync(path.join(gpt, 'model.onnx'), Buffer.alloc(10));
  fs.mkdirSync(other, { recursive: true });
  fs.writeFileSync(path.join(root, 'stray.txt'), 'x');
  const list = listCachedModels(root);
  assert.deepEqual(
    list.map((m) => [m.repo, m.bytes]),
    [
      ['Xenova/bert-base-uncased', 3200],
      ['Xenova/gpt2', 10],
      ['someone/tiny', 0],
    ],
  );
  const bertModel = list[0];
  assert.ok(isInside(path.join(bert, 'onnx', 'model.onnx'), bertModel));
  assert.ok(
    !isInside(path.join(root, 'Xenova', 'bert-base-uncased-v2', 'model.onnx'), bertModel),
    'a folder sharing the prefix is another model',
  );
  deleteCachedModel(bertModel);
  assert.deepEqual(
    listCachedModels(root).map((m) => m.repo),
    ['Xenova/gpt2', 'someone/tiny'],
  );
  deleteCachedModel(list[2]);
  assert.equal(fs.existsSync(path.join(root, 'someone')), false, 'the empty owner folder goes too');
  assert.ok(fs.existsSync(path.join(root, 'Xenova')));
  fs.rmSync(root, { recursive: true, force: true });
});

test('recent models: newest first, five at most, no repeats; what is removed leaves; a corrupt entry is ignored', async () => {
  const data = new Map<string, unknown>();
  const store = {
    get: <T>(k: string, d: T): T => (data.has(k) ? (data.get(k) as T) : d),
    update: async (k: string, v: unknown) => void data.set(k, v),
  };
  const recent = new RecentModels(store);
  for (const p of ['/a', '/b', '/c', '/d', '/e', '/f', '/b']) await recent.add(p);
  assert.deepEqual(recent.list(), ['/b', '/f', '/e', '/d', '/c']);
  await recent.removeWhere((p) => p === '/f' || p === '/c');
  assert.deepEqual(recent.list(), ['/b', '/e', '/d']);
  data.set('attentionExplorer.recentModels', ['/x', 42, null]);
  assert.deepEqual(recent.list(), ['/x']);
});

test('disposeAll disposes last first, empties the list, and one failure does not keep the rest alive', () => {
  const order: string[] = [];
  const errors: unknown[] = [];
  const list = [
    { dispose: () => order.push('a') },
    {
      dispose: () => {
        throw new Error('b failed');
      },
    },
    { dispose: () => order.push('c') },
  ];
  disposeAll(list, (e) => errors.push(e));
  assert.deepEqual(order, ['c', 'a']);
  assert.equal(list.length, 0);
  assert.equal(errors.length, 1);
});

test('focus: a hover moves an unpinned focus, a click pins, a second click unpins, leaving ends only a hover', () => {
  const hovered = focusAfter(null, 3, 'query', false);
  assert.deepEqual(hovered, { index: 3, side: 'query', pinned: false });
  assert.equal(focusAfter(hovered!, 3, 'query', false), undefined, 'the same token again changes nothing');
  const pinned = focusAfter(hovered!, 5, 'key', true);
  assert.deepEqual(pinned, { index: 5, side: 'key', pinned: true });
  assert.equal(focusAfter(pinned!, 7, 'query', false), undefined, 'a hover leaves a pin');
  assert.deepEqual(focusAfter(pinned!, 7, 'query', true), { index: 7, side: 'query', pinned: true });
  assert.equal(focusAfter(pinned!, 5, 'key', true), null);
  assert.equal(focusAfterLeave(hovered!), null);
  assert.equal(focusAfterLeave(pinned!), undefined);
});

test('a token is shown the same in the panel and in the hover: whitespace and control characters made visible', () => {
  assert.equal(visibleToken(' return'), '·return');
  assert.equal(visibleToken('\n\t\r'), '↵→');
  assert.equal(visibleToken('\u0000\u001b\u007f'), '␀␛␡');
  assert.equal(visibleToken(''), '∅');
  // The hover's table cell: the same text, with what would end the code span or the cell replaced.
  assert.equal(tokenInMarkdownTable(' a|b`c\n'), '`·a¦bˋc↵`');
});

test('the keyboard moves a pinned focus token by token, stops at the ends, and Escape unpins', () => {
  assert.deepEqual(focusAfterKey(null, 'ArrowRight', 5), { index: 0, side: 'query', pinned: true });
  const at2 = { index: 2, side: 'key' as const, pinned: false };
  assert.deepEqual(focusAfterKey(at2, 'ArrowDown', 5), { index: 3, side: 'key', pinned: true });
  assert.deepEqual(focusAfterKey(at2, 'ArrowLeft', 5), { index: 1, side: 'key', pinned: true });
  assert.deepEqual(focusAfterKey({ index: 4, side: 'query', pinned: true }, 'ArrowRight', 5)?.index, 4);
  assert.deepEqual(focusAfterKey({ index: 0, side: 'query', pinned: true }, 'ArrowUp', 5)?.index, 0);
  assert.equal(focusAfterKey(at2, 'End', 5)?.index, 4);
  assert.equal(focusAfterKey(at2, 'Home', 5)?.index, 0);
  assert.equal(focusAfterKey(at2, 'Escape', 5), null);
  assert.equal(focusAfterKey(null, 'Escape', 5), undefined);
  assert.equal(focusAfterKey(at2, 'a', 5), undefined);
  assert.equal(focusAfterKey(null, 'ArrowRight', 0), undefined);
});
