// A burst of concurrent POST /-/reload against the real CLI: the triggers share one running and
// one queued reload, and every caller hears the outcome of a reload that read the file after its
// request (the memory this saves is measured in bench/reloadStormBench.ts, docs/benchmarks.md).
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../harness/binaries.ts';
import { httpRequest } from '../harness/processes.ts';
import { samples, startBridge } from '../support/bridgeProcess.ts';

describe('concurrent POST /-/reload', () => {
  it(
    '100 at once: a few reloads, and every caller gets "config reloaded"',
    { timeout: 120_000 },
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'bridge-reload-storm-'));
      const config = path.join(dir, 'config.yaml');
      copyFileSync(path.join(repoRoot, 'examples/backup/config.yaml'), config);
      const bridge = await startBridge({
        config,
        source: `files:${path.join(repoRoot, 'examples/backup')}`,
        extraArgs: ['--web.enable-lifecycle'],
      });
      try {
        const answers = await Promise.all(
          Array.from({ length: 100 }, () =>
            httpRequest(`${bridge.url}/-/reload`, { method: 'POST', timeoutMs: 60_000 }),
          ),
        );
        const byAnswer = new Map<string, number>();
        for (const a of answers) {
          const key = `${a.status} ${a.body.trim()}`;
          byAnswer.set(key, (byAnswer.get(key) ?? 0) + 1);
        }
        assert.deepEqual([...byAnswer], [['200 config reloaded', 100]]);
        const self = (await httpRequest(`${bridge.telemetryUrl}/metrics`)).body;
        const loads = Number(
          /crd_metrics_bridge_config_loads_total\{result="success"\} (\d+)/.exec(self)?.[1],
        );
        // Triggers that arrive while a reload runs share one queued reload. On a busy machine the
        // 100 connections are accepted over several reloads' time, so a few reloads, not one per
        // request (each of the 100 reloaded its own copy before).
        assert.ok(loads >= 2 && loads <= 10, `the start and a few reloads, not ${loads}`);
        assert.equal(samples((await bridge.scrape()).body, 'backup_').length, 3);
      } finally {
        await bridge.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
