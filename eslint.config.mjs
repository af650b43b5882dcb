// npm run lint: typescript-eslint's recommended rules, plus the architecture as import rules — the engine imports
// nothing above it, the webview nothing of src/ but the protocol, the extension host no TF.js. (Transitive imports
// and import circles: scripts/check-tree.mjs, also run by npm run lint.)
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const restrict = (...patterns) => ['error', { patterns }];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.workbench/**', 'examples/**', 'coverage/**', '**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mjs'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      // Unused names are dead code; a leading underscore marks a parameter kept for its position.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // JSON schema walking and TF.js internals are typed loosely on purpose; each `any` is local.
      '@typescript-eslint/no-explicit-any': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    files: ['src/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        { group: ['vscode'], message: 'the engine is pure TypeScript: no vscode' },
        {
          group: ['**/extension/**', '**/worker/**', '**/cli/**', '**/protocol', '**/webview/**', '**/bench/**'],
          message: 'the engine imports nothing above it (extension, worker, CLI, protocol, webview)',
        },
      ),
    },
  },
  {
    files: ['webview/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        { group: ['**/src/**', '!**/src/protocol'], message: 'the webview imports only src/protocol.ts of the project' },
        { group: ['vscode', '@tensorflow/*', 'node:*'], message: 'the webview runs in a browser sandbox' },
      ),
    },
  },
  {
    files: ['src/extension/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        { group: ['@tensorflow/*', 'onnxruntime-node'], message: 'TF.js and native math run in the worker, never in the extension host' },
        {
          group: [
            '**/engine/backend',
            '**/engine/prune',
            '**/engine/sweep',
            '**/engine/gradual/**',
            '**/engine/gradients/**',
            '**/engine/model/load',
            '**/engine/linalg/**',
            '**/engine/fisher/**',
            '**/engine/structured/**',
          ],
          message: 'this engine module loads TF.js or native code: the extension host reaches it through the worker',
        },
        { group: ['**/worker/**', '**/cli/**'], message: 'the host talks to the worker through src/protocol.ts only' },
      ),
    },
  },
  {
    files: ['src/worker/**/*.ts', 'src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict({
        group: ['vscode', '**/extension/**', '**/webview/**'],
        message: 'no VS Code outside the extension',
      }),
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
