// The house rules as part of the suite, so CI enforces them on main: strict TypeScript over every
// file (src, tests, benchmarks, scripts), ESLint and Prettier. Since dist/ is built by esbuild,
// which strips types without checking them, nothing else stops a type error from landing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../harness/binaries.ts';

const require = createRequire(import.meta.url);

/** A package's CLI script, from its package.json `bin` (its `exports` may not list the file). */
function binOf(name: string, command = name): string {
  const manifest = require.resolve(`${name}/package.json`);
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: string | Record<string, string> };
  return path.join(path.dirname(manifest), typeof bin === 'string' ? bin : bin[command]!);
}

/** Runs a package's CLI script with this Node; resolves with its exit code and output. */
function run(script: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

// Two processes side by side: tsc and ESLint from one TypeScript program (ESLint's type-aware rules
// would build the whole program a second time), and Prettier, whose cache (content hashes, under
// node_modules/.cache) lets a warm run skip the files it has seen formatted.
describe('lint', { concurrency: true }, () => {
  it('tsc --noEmit and eslint: no type errors, no problems', async () => {
    const { code, output } = await run(path.join(repoRoot, 'scripts', 'typecheck-and-lint.ts'), []);
    assert.equal(code, 0, output);
  });

  it('prettier --check: formatted', async () => {
    const { code, output } = await run(binOf('prettier'), [
      '--check',
      '--cache',
      '--cache-strategy',
      'content',
      '.',
    ]);
    assert.equal(code, 0, output);
  });
});

describe('the layer map', () => {
  /** ESLint's messages for `text` in place of the file `file` of src/ (which must exist). */
  async function lint(file: string, text: string): Promise<string[]> {
    const { ESLint } = await import('eslint');
    // Only the import rules, without type information: building a TypeScript program for four
    // snippets costs as much as linting the project.
    const eslint = new ESLint({
      cwd: repoRoot,
      overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
      ruleFilter: ({ ruleId }) => ruleId === '@typescript-eslint/no-restricted-imports',
    });
    const [result] = await eslint.lintText(text, { filePath: path.join(repoRoot, file) });
    return (result?.messages ?? []).map((m) => m.message);
  }

  it('rejects an import against the layer order, and allows one along it', async () => {
    const wrong = await lint(
      'src/exposition/escape.ts',
      "import { DEFAULT_LIMITS } from '../engine/limits.ts';\nexport const probe = DEFAULT_LIMITS;\n",
    );
    assert.ok(
      wrong.some((m) => m.includes('does not let this folder import engine/')),
      `exposition -> engine: ${wrong.join('; ')}`,
    );
    const inEngine = await lint(
      'src/engine/store/resourceFor.ts',
      "import { compileConfig } from '../compile/compileConfig.ts';\nexport const probe = compileConfig;\n",
    );
    assert.ok(
      inEngine.some((m) => m.includes('does not let this folder import compile/')),
      `engine/store -> engine/compile: ${inEngine.join('; ')}`,
    );
    const sdk = await lint(
      'src/engine/generate/labels.ts',
      "import { metrics } from '@opentelemetry/api';\nexport const probe = metrics;\n",
    );
    assert.ok(
      sdk.some((m) => m.includes('must not depend on OpenTelemetry')),
      sdk.join('; '),
    );
    const right = await lint(
      'src/engine/store/resourceFor.ts',
      "import { DEFAULT_LIMITS } from '../limits.ts';\nimport { formatGoFloat } from '../../go/goFormat.ts';\nexport const probe = [DEFAULT_LIMITS, formatGoFloat];\n",
    );
    assert.deepEqual(right, []);
  });
});
