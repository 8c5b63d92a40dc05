import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
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

const EXTRA_METRIC =
  '        - name: backup_info\n          help: Backup target\n          each:\n            type: Info\n            info:\n              labelsFromPath: { phase: [status, phase] }\n';

describe('config reload without a signal', () => {
  it('follows a ConfigMap-style update (the ..data symlink swapped to a new directory)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bridge-configmap-'));
    const original = readFileSync(path.join(repoRoot, 'examples/backup/config.yaml'), 'utf8');
    // The layout the kubelet writes for a mounted ConfigMap.
    mkdirSync(path.join(dir, '..2026_11_30_01'));
    writeFileSync(path.join(dir, '..2026_11_30_01', 'config.yaml'), original);
    symlinkSync('..2026_11_30_01', path.join(dir, '..data'));
    symlinkSync('..data/config.yaml', path.join(dir, 'config.yaml'));
    const bridge = await startBridge({
      config: path.join(dir, 'config.yaml'),
      source: `files:${path.join(repoRoot, 'examples/backup')}`,
    });
    const self = async () => (await httpRequest(`${bridge.telemetryUrl}/metrics`)).body;
    try {
      assert.equal(samples((await bridge.scrape()).body, 'backup_').length, 3);
      const hashBefore = /crd_metrics_bridge_config_hash\{[^}]*\} (\d+)/.exec(await self())?.[1];
      // The kubelet's atomic update: a new timestamped directory, a temporary link, a rename.
      mkdirSync(path.join(dir, '..2026_11_30_02'));
      writeFileSync(path.join(dir, '..2026_11_30_02', 'config.yaml'), original + EXTRA_METRIC);
      symlinkSync('..2026_11_30_02', path.join(dir, '..data_tmp'));
      renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
      rmSync(path.join(dir, '..2026_11_30_01'), { recursive: true });
      await until('the new family', async () =>
        samples((await bridge.scrape()).body, 'backup_info').length === 1 ? true : undefined,
      );
      const after = await self();
      assert.notEqual(/crd_metrics_bridge_config_hash\{[^}]*\} (\d+)/.exec(after)?.[1], hashBefore);
      assert.match(after, /crd_metrics_bridge_config_loads_total\{result="success"\} 2/);
      assert.match(after, /crd_metrics_bridge_last_config_reload_successful\{[^}]*\} 1/);
      assert.match(bridge.log(), /"trigger":"file"/);
    } finally {
      await bridge.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('POST /-/reload with --web.enable-lifecycle, as Prometheus: 405 for GET, 500 for a bad config', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bridge-lifecycle-api-'));
    const config = path.join(dir, 'config.yaml');
    copyFileSync(path.join(repoRoot, 'examples/backup/config.yaml'), config);
    const bridge = await startBridge({
      config,
      source: `files:${path.join(repoRoot, 'examples/backup')}`,
      extraArgs: ['--web.enable-lifecycle'],
    });
    try {
      assert.equal((await httpRequest(`${bridge.url}/-/reload`)).status, 405);
      const good = await httpRequest(`${bridge.url}/-/reload`, { method: 'POST' });
      assert.equal(good.status, 200, good.body);
      assert.match(good.body, /config reloaded/);
      writeFileSync(
        config,
        'spec:\n  resources: [{groupVersionKind: {group: x.io, version: v1, kind: X}, metrics: [{name: m, each: {type: Gauge, gague: {}}}]}]\n',
      );
      const bad = await httpRequest(`${bridge.url}/-/reload`, { method: 'POST' });
      assert.equal(bad.status, 500);
      assert.match(bad.body, /unknown field "gague"/);
      assert.equal(samples((await bridge.scrape()).body, 'backup_').length, 3, 'the running config stays');
    } finally {
      await bridge.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('POST /-/reload is 403 without --web.enable-lifecycle', async () => {
    const bridge = await startBridge({
      config: path.join(repoRoot, 'examples/backup/config.yaml'),
      source: `files:${path.join(repoRoot, 'examples/backup')}`,
    });
    try {
      const r = await httpRequest(`${bridge.url}/-/reload`, { method: 'POST' });
      assert.equal(r.status, 403);
      assert.equal(r.body, 'Lifecycle API is not enabled.\n');
      assert.equal((await httpRequest(`${bridge.url}/-/reload`)).status, 405);
    } finally {
      await bridge.stop();
    }
  });
});
