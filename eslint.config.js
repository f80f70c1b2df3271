// Lint is where the architecture is enforced (DESIGN.md §1): an import that crosses a layer
// the wrong way is an error, with no warnings and no exemption lists.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [
  ...builtinModules.filter((m) => !m.startsWith('_')),
  ...builtinModules.map((m) => `node:${m}`),
];

/** Paths that leave a folder for a sibling part (relative imports). */
const into = (part) => `^(\\.{1,2}/)+(.*/)?${part}(/|$)`;

const noNode = [
  {
    group: ['node:*'],
    message: 'This layer has no Node.js: talk to the HISP through the API contract.',
  },
];
const noNodeBuiltinNames = nodeBuiltins
  .filter((m) => !m.startsWith('node:'))
  .map((name) => ({
    name,
    message: 'This layer has no Node.js: talk to the HISP through the API contract.',
  }));

const layer = (message, patterns, paths = []) => [
  'error',
  { patterns: patterns.map((p) => (typeof p === 'string' ? { regex: p, message } : p)), paths },
];

export default tseslint.config(
  {
    ignores: [
      'dist/',
      '.tsbuild/',
      'node_modules/',
      'test-results/',
      'playwright-report/',
      'test/fixtures/',
      'release/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ['*.config.js', 'scripts/*.mjs', 'bin/*.js'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
    },
  },

  // ── The arrows of DESIGN.md §1 ──────────────────────────────────────────────────────────
  {
    files: ['hisp/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': layer(
        'hisp/ is pure Node: no Electron, no React, nothing from renderer/ or electron/.',
        [into('renderer'), into('electron')],
        ['electron', 'react', 'react-dom', 'react/jsx-runtime'].map((name) => ({
          name,
          message: 'hisp/ is pure Node: no Electron, no React, no DOM.',
        })),
      ),
    },
  },
  {
    // The contract runs on both sides: zod and its own folder only.
    files: ['hisp/api/**/*.ts'],
    languageOptions: { globals: {} },
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            ...noNode,
            { regex: '^\\.\\./', message: 'hisp/api imports nothing outside hisp/api.' },
            { regex: '^(?!zod$|\\./)', message: 'hisp/api imports only zod and its own modules.' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        'process',
        'Buffer',
        'require',
        '__dirname',
        '__filename',
        'window',
        'document',
      ],
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            ...noNode,
            {
              regex: '^(\\.{1,2}/)+(.*/)?hisp/(?!api(/index(\\.js)?)?$)',
              message: 'The UI reaches the HISP only through the API contract (hisp/api).',
            },
            { regex: into('electron'), message: 'The UI never imports the Electron shell.' },
          ],
          paths: [
            {
              name: 'electron',
              message: 'The UI never imports Electron: it talks to the HISP through the contract.',
            },
            ...noNodeBuiltinNames,
          ],
        },
      ],
    },
  },
  {
    files: ['electron/preload/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!electron$|(\\.\\./)+hisp/api(/index(\\.js)?)?$)',
              message: 'The preload imports only contextBridge/ipcRenderer and the API contract.',
            },
          ],
          paths: [
            {
              name: 'electron',
              allowImportNames: ['contextBridge', 'ipcRenderer'],
              message: 'The preload uses only contextBridge and ipcRenderer.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['electron/main/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': layer(
        'The main process starts the HISP as a process and brokers ports; from hisp/ it imports only the contract and the machine-policy reader it shares with the HISP (hisp/host/policy).',
        [
          '^(\\.{1,2}/)+(.*/)?hisp/(?!api(/index(\\.js)?)?$|host/policy(\\.js)?$)',
          into('renderer'),
        ],
        ['react', 'react-dom'].map((name) => ({ name, message: 'No React in the main process.' })),
      ),
    },
  },

  // ── Tests: no focused or statically skipped tests ─────────────────────────────────────────
  {
    files: ['test/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'MemberExpression[property.name="only"]',
          message: '.only is not allowed: it silently drops every other test.',
        },
        {
          selector:
            'CallExpression[callee.type="MemberExpression"][callee.property.name="skip"][arguments.0.type=/^(Literal|TemplateLiteral)$/]',
          message:
            'A static .skip is not allowed: use a conditional skip (skipIf / test.skip(condition, reason)) whose title or reason says why.',
        },
        {
          selector:
            'CallExpression[callee.type="MemberExpression"][callee.property.name=/^(skip|todo)$/][arguments.length=0]',
          message: 'A bare skip is not allowed: give the condition and the reason.',
        },
        {
          selector: 'MemberExpression[property.name="todo"]',
          message: '.todo is not a test: write it, or leave it out and say so in the issue.',
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
