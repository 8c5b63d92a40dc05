import path from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { setUpSharding } from '../../src/app/sharding.ts';
import type { KubeClient } from '../../src/kube/KubeClient.ts';
import type { OtelSettings } from '../../src/otel/OtelSettings.ts';
import { repoRoot } from '../harness/binaries.ts';
import { runCli } from '../support/runCli.ts';

const logger = pino({ level: 'silent' });
const noClient = (): KubeClient => assert.fail('no API server needed for static sharding');
const settings = { resourceAttributes: {} } as unknown as OtelSettings;

describe('run: sharding flags', () => {
  it('static sharding accepts only its objects and puts the shard in service.instance.id', async () => {
    const sharding = await setUpSharding({ shard: 2, totalShards: 3 }, logger, noClient);
    assert.deepEqual(sharding.assignment(), { shard: 2, totalShards: 3 });
    const accept = sharding.accept();
    // shardOf('a', 3) = 2 and shardOf('', 3) = 1 (test/kube/sharding.test.ts).
    assert.equal(accept?.({ metadata: { uid: 'a' } }), true);
    assert.equal(accept?.({ metadata: {} }), false);
    assert.equal(sharding.withInstanceId(settings).resourceAttributes['service.instance.id'], 'shard-2');
    const own = { resourceAttributes: { 'service.instance.id': 'mine' } } as unknown as OtelSettings;
    assert.equal(sharding.withInstanceId(own).resourceAttributes['service.instance.id'], 'mine');
  });

  it('no sharding by default: no filter, no instance id', async () => {
    const sharding = await setUpSharding({}, logger, noClient);
    assert.equal(sharding.accept(), undefined);
    assert.deepEqual(sharding.withInstanceId(settings).resourceAttributes, {});
  });

  it('bad combinations stop the start with one line', async () => {
    const config = path.join(repoRoot, 'examples/backup/config.yaml');
    const source = `files:${path.join(repoRoot, 'examples/backup')}`;
    for (const [args, message] of [
      [
        ['--shard=3', '--total-shards=3'],
        /^error: --shard must be in \[0, 2\] for --total-shards 3, got 3\n$/,
      ],
      [['--total-shards=0'], /^error: --total-shards must be a positive integer, got 0\n$/],
      [['--pod=x-0'], /^error: auto-sharding needs both --pod and --pod-namespace/],
      [
        ['--pod=x-0', '--pod-namespace=ns', '--shard=0'],
        /^error: --shard\/--total-shards cannot be combined with --pod\/--pod-namespace/,
      ],
    ] as const) {
      const r = await runCli(['run', '--config', config, '--source', source, ...args]);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, message);
    }
  });
});
