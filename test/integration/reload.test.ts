import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { repoRoot } from '../harness/binaries.ts';
import { httpRequest } from '../harness/processes.ts';
import { samples, startBridge } from '../support/bridgeProcess.ts';
import { until } from '../support/until.ts';

describe('config reload on SIGHUP', () => {
  it('swaps in a valid config without a gap, and keeps the running one when the new one is bad', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bridge-reload-'));
    const config = path.join(dir, 'config.yaml');
    copyFileSync(path.join(repoRoot, 'examples/backup/config.yaml'), config);
    const bridge = await startBridge({ config, source: `files:${path.join(repoRoot, 'examples/backup')}` });
    const self = async () => (await httpRequest(`${bridge.telemetryUrl}/metrics`)).body;
    try {
      assert.equal(samples((await bridge.scrape()).body, 'backup_').length, 3);
      assert.match(await self(), /crd_metrics_bridge_last_config_reload_successful\{filename="[^"]+"\} 1/);
      const hashBefore = /crd_metrics_bridge_config_hash\{[^}]*\} (\d+)/.exec(await self())?.[1];

      // A valid new config: one more metric.
      writeFileSync(
        config,
        readFileSync(config, 'utf8') +
          '        - name: backup_info\n          help: Backup target\n          each:\n            type: Info\n            info:\n              labelsFromPath: { phase: [status, phase] }\n',
      );
      process.kill(bridge.process.pid, 'SIGHUP');
      await until('the new family', async () =>
        samples((await bridge.scrape()).body, 'backup_info').length === 1 ? true : undefined,
      );
      assert.equal(samples((await bridge.scrape()).body, 'backup_').length, 4);
      const afterGood = await self();
      assert.notEqual(/crd_metrics_bridge_config_hash\{[^}]*\} (\d+)/.exec(afterGood)?.[1], hashBefore);
      assert.match(afterGood, /crd_metrics_bridge_config_loads_total\{result="success"\} 2/);

      // A broken config: reported, and the running one keeps serving.
      writeFileSync(
        config,
        'spec:\n  resources:\n    - groupVersionKind: {group: x.io, version: v1, kind: X}\n      metrics: [{name: m, each: {type: Gauge, gague: {}}}]\n',
      );
      process.kill(bridge.process.pid, 'SIGHUP');
      await until('the failure to be recorded', async () =>
        /crd_metrics_bridge_last_config_reload_successful\{[^}]*\} 0/.test(await self()) ? true : undefined,
      );
      assert.equal(samples((await bridge.scrape()).body, 'backup_').length, 4);
      assert.match(bridge.log(), /config reload failed; keeping the running config/);
      assert.match(bridge.log(), /unknown field \\"gague\\" \(did you mean \\"gauge\\"\?\)/);
    } finally {
      await bridge.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
