import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startBridge } from '../support/bridgeProcess.ts';
import type { BridgeHandle } from '../support/bridgeProcess.ts';
import { hostileFoo, writeHostileFixture } from '../support/hostileFoo.ts';
import { assertPromtoolAccepts } from '../support/promtool.ts';
import { until } from '../support/until.ts';

// The hostile Foo (test/support/hostileFoo.ts) through `run` (files source): the bridge serves everything else, counts the
// cut-off on its telemetry listener, and follows the object as it shrinks under and grows over
// the limits again.
describe('run with the hostile object', () => {
  let bridge: BridgeHandle;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hostile-run-'));
    writeHostileFixture(dir);
    bridge = await startBridge({ config: join(dir, 'config.yaml'), source: `files:${join(dir, 'objects')}` });
  });
  after(async () => {
    await bridge?.stop();
  });

  const telemetry = async () => (await fetch(`${bridge.telemetryUrl}/metrics`)).text();

  it('serves the other objects and counts the cut-off', async () => {
    const r = await bridge.scrape();
    assert.equal(r.status, 200);
    assert.match(r.body, /foo_item_value\{.*name="benign"/);
    assert.doesNotMatch(r.body, /name="hostile"/);
    assertPromtoolAccepts(r.body);
    const t = await telemetry();
    assert.match(
      t,
      /^crd_metrics_bridge_object_errors_total\{resource="example\.com\/v1\/Foo",metric="foo_item_value",kind="limit-label-value-length"\} 1$/m,
    );
    assert.match(
      t,
      /^crd_metrics_bridge_object_events_total\{outcome="limited",resource="example\.com\/v1\/Foo"\} 1$/m,
    );
    assert.match(
      bridge.log(),
      /limit-label-value-length.*tenant-a\/hostile|tenant-a\/hostile.*limit-label-value-length/,
    );
  });

  it('takes the object once it is under the limits, and drops all its series when it grows over again', async () => {
    const file = join(dir, 'objects', 'hostile.json');
    writeFileSync(file, JSON.stringify(hostileFoo({ noteBytes: 20, items: 5 })));
    await until(
      'the shrunk object is served',
      async () => (await bridge.scrape()).body.match(/^foo_item_value\{.*name="hostile".*$/gm)?.length === 5,
    );
    writeFileSync(file, JSON.stringify(hostileFoo({ noteBytes: 20, items: 5_000 })));
    await until('the grown object is dropped whole', async () => {
      const body = (await bridge.scrape()).body;
      return !body.includes('name="hostile"') && body.includes('name="benign"');
    });
    assert.match(await telemetry(), /kind="limit-object-series"\} 1$/m);
  });
});
