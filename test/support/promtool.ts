import { spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import assert from 'node:assert/strict';
import { findBinary } from '../harness/binaries.ts';

/**
 * Expositions longer than this many lines are parsed but not linted. Prometheus 3's promtool
 * lints in time quadratic in the series count (10,000 series: 34 s, against 0.14 s for 2.42's),
 * while its parser stays linear; the lint rules are about names and types, which the small
 * expositions of the same tests exercise.
 */
const LINT_MAX_LINES = 2_000;

function checkMetrics(exposition: string): { result: SpawnSyncReturns<string>; linted: boolean } {
  let lines = 0;
  for (
    let i = exposition.indexOf('\n');
    i !== -1 && lines <= LINT_MAX_LINES;
    i = exposition.indexOf('\n', i + 1)
  )
    lines++;
  const linted = lines <= LINT_MAX_LINES;
  // `--extended` is only there because promtool refuses `--lint=none` alone; it still parses all.
  const args = linted ? ['check', 'metrics'] : ['check', 'metrics', '--lint=none', '--extended'];
  const result = spawnSync(findBinary('promtool'), args, {
    input: exposition,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  return { result, linted };
}

/**
 * Runs `promtool check metrics` on text-format exposition; fails the test on any problem (a parse
 * error, or a lint finding for expositions up to LINT_MAX_LINES lines).
 */
export function assertPromtoolAccepts(exposition: string): void {
  const { result, linted } = checkMetrics(exposition);
  assert.equal(
    result.status,
    0,
    `promtool check metrics${linted ? '' : ' --lint=none'} failed:\n${result.stdout}${result.stderr}`,
  );
}

/**
 * Runs `promtool check metrics` and fails only on what a scrape would reject: a parse error
 * (exit 1). Lint findings (exit 3: camelCase label names, unit-like names) are conventions, and
 * generated configs produce them on purpose.
 */
export function assertPromtoolParses(exposition: string): void {
  const { result } = checkMetrics(exposition);
  assert.ok(
    result.status === 0 || result.status === 3,
    `promtool check metrics could not parse the exposition (exit ${result.status}):\n${result.stdout}${result.stderr}`,
  );
}
