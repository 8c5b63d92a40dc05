// The `--limits.*` flags of the budgets across objects: parsed like the other limits, their
// defaults derived from the heap limit (shown in --help and logged at startup).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { budgetNotice, main } from '../../src/cli/main.ts';
import type { RunOptions } from '../../src/cli/runCommand.ts';
import { budgetDefaults, HEAP_LIMIT_BYTES } from '../../src/engine/limits.ts';
import { runCli } from '../support/runCli.ts';
import { spawnCli } from '../support/spawnCli.ts';

async function parse(
  argv: string[],
): Promise<{ code: number; stderr: string; options: RunOptions | undefined }> {
  let stderr = '';
  let options: RunOptions | undefined;
  const code = await main(argv, { stdout: () => undefined, stderr: (t) => void (stderr += t) }, (o) => {
    options = o;
    return Promise.resolve(0);
  });
  return { code, stderr, options };
}

describe('budget flags', () => {
  it('parses the four budgets into the run options and logs them at startup', async () => {
    const r = await parse([
      'run',
      '--config=x.yaml',
      '--limits.total-series=100',
      '--limits.total-series-bytes=0',
      '--limits.namespace-series=10',
      '--limits.namespace-series-bytes=2000',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.options?.limits, {
      totalSeries: 100,
      totalSeriesBytes: 0,
      namespaceSeries: 10,
      namespaceSeriesBytes: 2000,
    });
    const notice = r.options?.notices?.find((n) => n.message.startsWith('budgets across objects'));
    assert.ok(notice);
    assert.match(
      notice.message,
      /total-series=100 \(flag\), total-series-bytes=unlimited \(flag\), namespace-series=10 \(flag\), namespace-series-bytes=2000 \(flag\)/,
    );
  });

  it('a bad value is one line and exit 1, like the other limits', async () => {
    const r = await runCli(['run', '--config', 'x.yaml', '--limits.namespace-series=-3']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--limits\.namespace-series <n>' argument '-3' is invalid/);
  });

  it('defaults follow the heap limit of the process (--max-old-space-size), in --help and the notice', async () => {
    const defaults = budgetDefaults(HEAP_LIMIT_BYTES);
    assert.match(budgetNotice({}), new RegExp(`total-series=${defaults.totalSeries},`));
    // A process with deploy/'s heap cap derives smaller budgets, and says so.
    const help = spawnCli(['run', '--help'], {
      ...process.env,
      NODE_OPTIONS: '--max-old-space-size=384 --max-semi-space-size=8',
    });
    assert.equal((await help.exited).code, 0, help.stderr());
    const text = help.stdout().replace(/\s+/g, ' ');
    const shown =
      /--limits\.total-series <n> .*?default (\d+), derived from the heap limit of (\d+) MiB/.exec(text);
    assert.ok(shown, text);
    assert.equal(Number(shown[2]), 408);
    assert.equal(Number(shown[1]), budgetDefaults(408 * 2 ** 20).totalSeries);
    assert.ok(Number(shown[1]) < defaults.totalSeries || HEAP_LIMIT_BYTES <= 408 * 2 ** 20);
  });
});
