// @ts-check
/**
 * `npm run lint`. Besides the recommended rules, it holds the layering (docs/architecture.md):
 * low → high: platform, db, workflow code, activities, job declarations, api | worker, bin. No
 * layer imports a higher one; workflow code (bundled into Temporal's deterministic sandbox)
 * imports no Node built-ins and none of the Temporal packages that do I/O.
 */
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** `import … from` patterns that reach into a folder, from anywhere in the tree. */
const folder = (name) => [`../${name}`, `../${name}/*`, `../../${name}`, `../../${name}/*`];

/** A no-restricted-imports rule: `groups` maps a message to the folders it forbids; `regexes` to import paths. */
function forbid(groups, { paths = [], regexes = {}, allowTypeImports = false } = {}) {
  return {
    'no-restricted-imports': [
      'error',
      {
        paths,
        patterns: [
          ...Object.entries(groups).map(([message, folders]) => ({ group: folders.flatMap(folder), message, allowTypeImports })),
          ...Object.entries(regexes).map(([message, regex]) => ({ regex, message, allowTypeImports })),
        ],
      },
    ],
  };
}

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)].map((name) => ({
  name,
  message: 'Workflow code runs in a deterministic sandbox: no Node built-ins (do I/O in an activity).',
}));
const temporalIoPackages = ['activity', 'client', 'worker', 'testing'].map((p) => ({
  name: `@temporalio/${p}`,
  message: 'Workflow code may use @temporalio/workflow and @temporalio/common only.',
}));

/** The Node halves of job types (declarations, their own activities, the registry): above activities/, below api/ and worker/. */
const jobDeclarations = ['workflows/**/job.ts', 'workflows/**/activities.ts', 'workflows/registry.ts', 'workflows/declaration.ts'];
const above = 'a lower layer may not import a higher one (docs/architecture.md, "Layers")';

export default tseslint.config(
  { ignores: ['node_modules/**', '.cache/**', '.data/**', 'bench/results/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off', // require.resolve() names the bundle's entry
    },
  },
  // Tests read arbitrary JSON answers and assert on their shape.
  { files: ['test/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  { files: ['*.js', '*.mjs', '.ci/*.js'], languageOptions: { globals: { module: 'writable', require: 'readonly', __dirname: 'readonly', process: 'readonly', console: 'readonly' } } },
  { files: ['platform/**/*.ts'], rules: forbid({ [above]: ['db', 'workflows', 'activities', 'api', 'worker', 'bin'] }) },
  { files: ['db/**/*.ts'], rules: forbid({ [above]: ['workflows', 'activities', 'api', 'worker', 'bin'] }) },
  {
    files: ['workflows/**/*.ts'],
    ignores: jobDeclarations,
    rules: {
      ...forbid(
        {
          [`workflow code: ${above}; activities and the database are reached through proxyActivities (type imports are fine)`]: ['db', 'activities', 'api', 'worker', 'bin'],
        },
        {
          paths: [...nodeBuiltins, ...temporalIoPackages],
          regexes: {
            'workflow code may import only platform/temporal-keys from platform/ (the bundle-safe one)': '^(\\.\\./)+platform/(?!temporal-keys$)',
            "workflow code may not import a job's Node half (job.ts, activities.ts, registry.ts, declaration.ts; type imports are fine)": '(^|/)(job|activities|registry|declaration)$',
          },
          allowTypeImports: true,
        },
      ),
    },
  },
  { files: jobDeclarations, rules: forbid({ [above]: ['api', 'worker', 'bin'] }) },
  { files: ['activities/**/*.ts'], rules: forbid({ [above]: ['api', 'worker', 'bin'] }) },
  { files: ['api/**/*.ts'], rules: forbid({ [`${above}; api/ and worker/ are separate roles`]: ['worker', 'bin'] }) },
  { files: ['worker/**/*.ts'], rules: forbid({ [`${above}; api/ and worker/ are separate roles`]: ['api', 'bin'] }) },
);
