// @ts-check
import tseslint from 'typescript-eslint';

/**
 * The layer map of src/ (CONTRIBUTING.md draws it): each folder and what it may import. Lower
 * layers never import higher ones; a wrong-way import fails lint. Files directly in src/ (version.ts)
 * are importable from anywhere.
 */
const LAYERS = {
  // Ground floor: Go-exact values, shared model types, time and slicing.
  go: [],
  runtime: [],
  model: ['go'],
  // Reading configs, and the exposition format (a leaf: it knows families and blocks, not the engine).
  config: ['go', 'model'],
  exposition: ['go', 'model', 'runtime'],
  engine: ['go', 'model', 'runtime', 'config', 'exposition'],
  // Where objects come from, and how we serve HTTP.
  sources: ['go', 'model', 'runtime'],
  http: ['go', 'model', 'runtime', 'config', 'exposition'],
  kube: ['go', 'model', 'runtime', 'config', 'sources', 'http'],
  otel: ['go', 'model', 'runtime', 'config', 'exposition', 'engine', 'sources'],
  // The composition root, then the command line, which parses flags and calls app/.
  app: ['go', 'model', 'runtime', 'config', 'exposition', 'engine', 'sources', 'http', 'kube', 'otel'],
  cli: ['go', 'model', 'runtime', 'config', 'exposition', 'engine', 'app'],
};

/** Inside engine/: compile builds what generate runs; store keeps what generate made. */
const ENGINE_PARTS = {
  cel: [],
  generate: ['cel'],
  compile: ['cel', 'generate', 'health'],
  store: ['generate'],
  health: ['cel'],
};

/** Folders whose code must not depend on the OpenTelemetry SDK or API. */
const WITHOUT_OTEL = ['go', 'runtime', 'model', 'config', 'exposition', 'engine', 'sources', 'http', 'kube'];

// The ESM facade of node:http reads every export, and its lazy WebSocket getters load Node's
// bundled undici: ~50 ms of every start-up. Types are free.
const NODE_HTTP = {
  name: 'node:http',
  message: "use process.getBuiltinModule('node:http') (its ESM import costs start-up)",
  allowTypeImports: true,
};

function layerRules() {
  const folders = Object.keys(LAYERS);
  const forbid = (allowed, others) =>
    others
      .filter((f) => !allowed.includes(f))
      .map((f) => ({
        regex: `^(\\.\\./)+${f}/`,
        message: `the layer map (eslint.config.js, CONTRIBUTING.md) does not let this folder import ${f}/`,
      }));
  const block = (files, patterns) => ({
    files,
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { paths: [NODE_HTTP], patterns }],
    },
  });
  const otel = (folder) =>
    WITHOUT_OTEL.includes(folder)
      ? [{ regex: '^@opentelemetry/', message: `${folder}/ must not depend on OpenTelemetry` }]
      : [];
  const blocks = folders
    .filter((folder) => folder !== 'engine')
    .map((folder) =>
      block(
        [`src/${folder}/**/*.ts`],
        [
          ...forbid(
            LAYERS[folder],
            folders.filter((f) => f !== folder),
          ),
          ...otel(folder),
        ],
      ),
    );
  const outside = [
    ...forbid(
      LAYERS.engine,
      folders.filter((f) => f !== 'engine'),
    ),
    ...otel('engine'),
  ];
  const parts = Object.keys(ENGINE_PARTS);
  blocks.push(block(['src/engine/*.ts'], [...outside, ...forbid([], parts)]));
  for (const part of parts)
    blocks.push(
      block(
        [`src/engine/${part}/**/*.ts`],
        [
          ...outside,
          ...forbid(
            ENGINE_PARTS[part],
            parts.filter((p) => p !== part),
          ),
        ],
      ),
    );
  return blocks;
}

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      'build/**',
      'bin/**',
      'scripts/**/*.js',
      'bench/**/*.js',
      'eslint.config.js',
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', 'ExportAllDeclaration'],
    },
  },
  ...layerRules(),
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      // node:test's describe/it return promises the runner awaits itself.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', name: ['describe', 'it', 'test', 'before', 'after'], package: 'node:test' },
          ],
        },
      ],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
);
