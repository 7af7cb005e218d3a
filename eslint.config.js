import importX, { createNodeResolver } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const NODE_AND_IO = {
  group: [
    'node:*',
    'fs',
    'path',
    'crypto',
    'http',
    'https',
    'net',
    'os',
    'child_process',
    '@aws-sdk/*',
    'sharp',
    'clamscan',
    'pino',
    'pg',
    '@prisma/*',
    '**/generated/*',
    '@temporalio/client',
    '@temporalio/worker',
    '@temporalio/activity',
  ],
  message: 'Workflow code is replayed and must stay deterministic: do I/O in an activity.',
};

/** The layers, bottom first: a folder may import only from the folders before it (and itself). */
const BACKWARDS = {
  // '!@opentelemetry/api': a package whose name ends in /api, not the project's api/ folder.
  group: [
    '**/api/*',
    '**/api',
    '!@opentelemetry/api',
    '**/workers/*',
    '**/workers',
    '**/scripts/*',
    '**/infra/*',
    '**/bench/*',
  ],
  message:
    'Dependencies point one way: common ← workflows, lib, prisma, config ← services ← activities ← api, workers. Move what both need down.',
};

/** services/ holds what the API and the sweeper share; only the layers above it may use it. */
const SERVICES = {
  group: ['**/services/*', '**/services'],
  message: 'services/ sits above lib, prisma and config: move what both need down instead.',
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'generated/**', '.data/**', '.tools/**', 'dist/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    settings: {
      // Without a parser for .ts the plugin cannot read the imported module, and sees no cycle.
      'import-x/extensions': ['.ts', '.mjs', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.mjs', '.js', '.json'] })],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // A cycle means two modules are one module, or a third is missing: fail on any.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    // The shared, workflow-safe folder: domain types, task queues, ids, messages, failure names.
    files: ['common/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            NODE_AND_IO,
            { group: ['../*', '!./*'], message: 'common/ imports nothing of the project outside itself.' },
          ],
        },
      ],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            NODE_AND_IO,
            BACKWARDS,
            {
              group: ['**/lib/*', '**/prisma/*', '**/config/*', '**/services/*'],
              message: 'Workflows import only common/.',
            },
            {
              group: ['**/activities/*', '!**/activities/types'],
              message: 'Import only activity types into workflows.',
            },
          ],
        },
      ],
    },
  },
  {
    // Activities may use services (the sweeper restarts a lost upload through accept-upload).
    files: ['activities/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [BACKWARDS] }] },
  },
  {
    files: ['lib/**/*.ts', 'prisma/**/*.ts', 'config/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [BACKWARDS, SERVICES] }] },
  },
  {
    // The CLI is a client of the public /v1 API: the API's route types (for hc<App>) and nothing of its
    // code; only cli/operator/ works on the database, as the operator commands always have.
    files: ['cli/**/*.ts'],
    ignores: ['cli/operator/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/api/*', '**/api', '!@opentelemetry/api'],
              allowTypeImports: true,
              message: 'The CLI reaches the API over HTTP: import only its types.',
            },
            {
              group: ['**/prisma/*', '**/services/*', '**/activities/*', '**/workers/*', '**/workflows/*'],
              message: 'The CLI is a client of /v1; only cli/operator/ works on the database.',
            },
            {
              group: ['**/config/*', '**/lib/*', '**/infra/*'],
              message: 'The CLI is a client of /v1; only cli/operator/ reads the server configuration.',
            },
          ],
        },
      ],
    },
  },
  {
    // Orchestration the API and the sweeper share: common, lib, prisma and config, and workflow types
    // (a service starts a workflow by name; its code runs only on the worker).
    files: ['services/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            BACKWARDS,
            { group: ['**/activities/*', '**/activities'], message: 'Activities use services, not the reverse.' },
            {
              group: ['**/workflows/*', '**/workflows'],
              allowTypeImports: true,
              message: 'Import only workflow types into services.',
            },
          ],
        },
      ],
    },
  },
);
