// The linter: the recommended rules of ESLint and typescript-eslint, a line length, and the
// boundaries between the floors (which folder may import what). Run by `npm run lint` and by
// `npm test`; `npm run format` fixes what Prettier can.
import js from '@eslint/js';
import stylistic from '@stylistic/eslint-plugin';
import tseslint from 'typescript-eslint';

const NODE = ['node:*', 'fs', 'path', 'os', 'crypto', 'child_process'];
const restrict = (message, groups) => ({
  'no-restricted-imports': ['error', { patterns: groups.map((group) => ({ group, message })) }],
});

export default tseslint.config(
  { ignores: ['dist/', 'media/', 'node_modules/', '.tools/', '.bench/', '.test-output/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { '@stylistic': stylistic },
    rules: {
      // Prettier wraps code at 120; this catches what it cannot wrap: comments and long names.
      // A message string may run on (splitting it would hide it from a search).
      '@stylistic/max-len': [
        'error',
        { code: 120, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-control-regex': 'off', // control characters are matched on purpose (shown as symbols)
      eqeqeq: ['error', 'smart'],
    },
  },
  // The floors: the page and the worker, the engine and the common code run outside the extension
  // host, so none of them may import `vscode` or Node's modules; common imports no other floor.
  {
    files: ['webview/**/*.ts'],
    rules: restrict('the webview has neither vscode nor Node: talk to the host through the protocol', [
      ['vscode', ...NODE, '**/src/host/**'],
    ]),
  },
  {
    files: ['src/engine/**/*.ts'],
    rules: restrict('the engine runs in Node and in a browser worker: no vscode, no Node API, no host or page code', [
      ['vscode', ...NODE, '**/host/**', '**/webview/**'],
    ]),
  },
  {
    files: ['src/common/**/*.ts'],
    rules: restrict('common code is imported by every floor: it imports none of them', [
      ['vscode', ...NODE, '**/host/**', '**/engine/**', '**/webview/**'],
    ]),
  },
  {
    files: ['src/host/**/*.ts'],
    rules: restrict('the host reaches the page only through the protocol (src/common)', [['**/webview/**']]),
  },
  {
    files: ['tools/*.mjs'],
    languageOptions: { globals: { console: 'readonly', process: 'readonly' } },
  },
);
