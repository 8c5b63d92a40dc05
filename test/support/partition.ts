import assert from 'node:assert/strict';

/** Asserts the shards' series are disjoint and together equal the unsharded bridge's, byte for byte. */
export function assertPartition(shards: readonly string[][], whole: readonly string[]): void {
  const seen = new Set<string>();
  for (const lines of shards) {
    for (const line of lines) {
      assert.ok(!seen.has(line), `served by two shards: ${line}`);
      seen.add(line);
    }
  }
  assert.equal(shards.flat().sort().join('\n'), [...whole].sort().join('\n'));
}
