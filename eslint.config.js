// ESLint: typescript-eslint's recommended rules (syntax only, no type information, so a run
// takes seconds) and the layer rule of docs/architecture.md.
import js from '@eslint/js';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

// The server's layers, top to bottom: each imports only the layers below it and the leaves.
// `src/transfer` (the export/import command) composes like `src/main.ts`, above the service.
const stack = ['src/main.ts', 'src/transfer', 'src/service', 'src/http', 'src/operations', 'src/scheduling', 'src/engine', 'src/store', 'src/db'];
// Leaves any layer may use; they import nothing of the project but the generated contract
// types and the configuration, the lowest leaf.
const leaves = ['src/handlers', 'src/config', 'src/contract', 'src/observability', 'src/generated'];
const client = 'src/client';
const cli = 'src/cli';
const shippedHandlers = 'handlers';
const everything = [...stack, ...leaves, client, cli, shippedHandlers];

/** What each part may import, besides its own files. */
const allowed = new Map([
  ...stack.map((layer, i) => [layer, [...stack.slice(i + 1), ...leaves]]),
  ...leaves.map((leaf) => [leaf, leaf === 'src/generated' ? [] : leaf === 'src/config' ? ['src/generated'] : ['src/config', 'src/generated']]),
  [client, ['src/generated']],
  [cli, [client, 'src/generated']],
  [shippedHandlers, ['src/handlers']],
]);

/** The zones of import-x/no-restricted-paths: one per part and part it must not import. */
function layerZones() {
  const zones = [];
  for (const [target, ok] of allowed) {
    for (const from of everything) {
      if (from === target || ok.includes(from)) continue;
      zones.push({
        target,
        from,
        message: `${target} may import only ${ok.length > 0 ? ok.join(', ') : 'its own files'} (docs/architecture.md, layers).`,
      });
    }
  }
  return zones;
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/generated/**', '.data/**', '.test-data/**', '.prof/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // Relative imports name the compiled `.js`; the source beside it is `.ts`.
      'import-x/resolver-next': [createNodeResolver({ extensionAlias: { '.js': ['.ts', '.js'] } })],
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: layerZones() }],
      // A leading underscore marks a parameter an interface requires and this code does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
    },
  },
  {
    // The dashboard reaches the service only through the client, by its package name.
    files: ['ui/**/*.ts', 'ui/**/*.tsx'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/src/*', '!jobs-service/client'], message: 'the dashboard imports the API client as jobs-service/client, nothing else of the service' }] },
      ],
    },
  },
  {
    // Tests match the columns of printed tables, where the run of spaces is what is checked.
    files: ['test/**/*.ts'],
    rules: { 'no-regex-spaces': 'off' },
  },
);
