import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * Compares with a golden file. `UPDATE_GOLDEN=1` rewrites it instead; a rewritten golden must be
 * reviewed by hand before it is committed, since it is the expectation.
 */
export function assertGolden(actual: string, file: string): void {
  if (process.env.UPDATE_GOLDEN === '1') {
    writeFileSync(file, actual);
    return;
  }
  assert.ok(existsSync(file), `golden file ${file} is missing (run with UPDATE_GOLDEN=1 and review it)`);
  assert.equal(actual, readFileSync(file, 'utf8'), `output differs from ${file}`);
}

/**
 * A health state with no deciding condition is timed from when it was first seen: in `render`, the
 * render's own time, written as `<render time>` in goldens (within a minute of now, or it shows).
 */
export function withRenderTime(exposition: string): string {
  const now = Date.now() / 1000;
  return exposition.replace(
    /^(\S*health_last_transition_timestamp_seconds\{.*\}) (\S+)$/gm,
    (line, series: string, value: string) =>
      Math.abs(Number(value) - now) < 60 ? `${series} <render time>` : line,
  );
}
