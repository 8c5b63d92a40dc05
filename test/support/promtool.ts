import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { findBinary } from '../harness/binaries.ts';

/** Runs `promtool check metrics` on text-format exposition; fails the test on any problem. */
export function assertPromtoolAccepts(exposition: string): void {
  const promtool = findBinary('promtool');
  const result = spawnSync(promtool, ['check', 'metrics'], {
    input: exposition,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  assert.equal(result.status, 0, `promtool check metrics failed:\n${result.stdout}${result.stderr}`);
}

/**
 * Runs `promtool check metrics` and fails only on what a scrape would reject: a parse error
 * (exit 1). Lint findings (exit 3: camelCase label names, unit-like names) are conventions, and
 * generated configs produce them on purpose.
 */
export function assertPromtoolParses(exposition: string): void {
  const promtool = findBinary('promtool');
  const result = spawnSync(promtool, ['check', 'metrics'], {
    input: exposition,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  assert.ok(
    result.status === 0 || result.status === 3,
    `promtool check metrics could not parse the exposition (exit ${result.status}):\n${result.stdout}${result.stderr}`,
  );
}
