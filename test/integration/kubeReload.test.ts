import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { repoRoot } from '../harness/binaries.ts';
import { startKubeApiserver } from '../harness/kubeApiserver.ts';
import { httpRequest } from '../harness/processes.ts';
import { samples, startBridge } from '../support/bridgeProcess.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';
import { until } from '../support/until.ts';

const WIDGETS = `    - groupVersionKind: { group: example.com, version: v1, kind: Widget }
      metricNamePrefix: widget
      customResourceLabels: false
      labelsFromPath: { name: [metadata, name] }
      metrics:
        - name: size
          help: widget size
          each: { type: Gauge, gauge: { path: [spec, size] } }
`;
const WIDGET_INFO = `        - name: info
          help: widget info
          each: { type: Info, info: { labelsFromPath: { size: [spec, size] } } }
`;
const BACKUPS = `    - groupVersionKind: { group: backup.example.com, version: v1, kind: Backup }
      metricNamePrefix: backup
      customResourceLabels: false
      labelsFromPath: { name: [metadata, name] }
      metrics:
        - name: size_bytes
          help: backup size
          each: { type: Gauge, gauge: { path: [status, sizeBytes] } }
`;

describe('reload against a real kube-apiserver, as a ServiceAccount with a limited ClusterRole', () => {
  it('applies a new metric on an allowed resource at once while a newly added forbidden one shows as not synced', async () => {
    const api = await startKubeApiserver();
    const work = mkdtempSync(path.join(tmpdir(), 'bridge-kube-reload-'));
    let bridge: BridgeHandle | undefined;
    const ok = async (args: string[], input?: string) => {
      const r = await api.kubectl(args, input === undefined ? {} : { input });
      assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    };
    try {
      await ok(['apply', '-f', path.join(repoRoot, 'test/fixtures/kube/widgets-crd.yaml')]);
      await ok(['apply', '-f', path.join(repoRoot, 'examples/backup/crd.yaml')]);
      await ok(['wait', '--for=condition=Established', 'crd/widgets.example.com', '--timeout=30s']);
      await ok(['wait', '--for=condition=Established', 'crd/backups.backup.example.com', '--timeout=30s']);
      await ok(
        ['apply', '-f', '-'],
        'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 5}\n',
      );
      await ok(['apply', '-f', path.join(repoRoot, 'examples/backup/backup.yaml')]);
      const kubeconfig = await api.createServiceAccountKubeconfig('bridge', 'limited');
      // CRDs and widgets, not backups.
      await ok([
        'create',
        'clusterrole',
        'limited-reader',
        '--verb=get,list,watch',
        '--resource=customresourcedefinitions.apiextensions.k8s.io,widgets.example.com',
      ]);
      await ok([
        'create',
        'clusterrolebinding',
        'limited-reader',
        '--clusterrole=limited-reader',
        '--serviceaccount=bridge:limited',
      ]);
      const config = path.join(work, 'config.yaml');
      writeFileSync(config, `spec:\n  resources:\n${WIDGETS}`);
      bridge = await startBridge({
        config,
        source: 'kubernetes',
        extraArgs: [`--kubeconfig=${kubeconfig}`, '--web.enable-lifecycle'],
      });
      const self = async () => (await httpRequest(`${bridge!.telemetryUrl}/metrics`)).body;
      assert.deepEqual(samples((await bridge.scrape()).body, 'widget_'), ['widget_size{name="w1"} 5']);
      const hashBefore = /crd_metrics_bridge_config_hash\{[^}]*\} (\d+)/.exec(await self())?.[1];

      writeFileSync(config, `spec:\n  resources:\n${WIDGETS}${WIDGET_INFO}${BACKUPS}`);
      const began = Date.now();
      const reload = await httpRequest(`${bridge.url}/-/reload`, { method: 'POST', timeoutMs: 30_000 });
      const reloadMs = Date.now() - began;
      assert.equal(reload.status, 200, reload.body);
      assert.match(reload.body, /not synced yet: backup\.example\.com\/v1\/backups \(forbidden\)/);

      // The new metric on the allowed resource is served right away.
      assert.deepEqual(samples((await bridge.scrape()).body, 'widget_').sort(), [
        'widget_info{name="w1",size="5"} 1',
        'widget_size{name="w1"} 5',
      ]);
      assert.deepEqual(samples((await bridge.scrape()).body, 'backup_'), []);
      const ready = await httpRequest(`${bridge.url}/readyz`);
      assert.equal(ready.status, 503);
      assert.match(ready.body, /backup\.example\.com\/v1\/backups \(forbidden\)/);
      assert.doesNotMatch(ready.body, /widgets/);

      const after = await self();
      assert.match(after, /crd_metrics_bridge_last_config_reload_successful\{[^}]*\} 1/);
      assert.notEqual(/crd_metrics_bridge_config_hash\{[^}]*\} (\d+)/.exec(after)?.[1], hashBefore);
      assert.match(
        after,
        /crd_metrics_bridge_target_synced\{target="backup\.example\.com\/v1\/backups",state="forbidden"\} 0/,
      );
      assert.match(
        after,
        /crd_metrics_bridge_target_synced\{target="example\.com\/v1\/widgets",state="watching"\} 1/,
      );
      console.log(`reload with a forbidden collection applied in ${reloadMs} ms`);

      // Once allowed, the collection syncs and the bridge is ready, with no further reload.
      await ok([
        'create',
        'clusterrole',
        'backup-reader',
        '--verb=get,list,watch',
        '--resource=backups.backup.example.com',
      ]);
      await ok([
        'create',
        'clusterrolebinding',
        'backup-reader',
        '--clusterrole=backup-reader',
        '--serviceaccount=bridge:limited',
      ]);
      await until(
        'backups once allowed',
        async () =>
          samples((await bridge!.scrape()).body, 'backup_size_bytes').length === 1 ? true : undefined,
        90_000,
      );
      await until('ready', async () =>
        (await httpRequest(`${bridge!.url}/readyz`)).status === 200 ? true : undefined,
      );
    } finally {
      await bridge?.stop();
      await api.stop();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
