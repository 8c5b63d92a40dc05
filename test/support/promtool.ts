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
