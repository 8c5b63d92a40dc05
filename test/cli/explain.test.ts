import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../support/runCli.ts';

const dir = join('test', 'fixtures', 'explain');
const fixture = (name: string) => join(dir, name);
const WIDGETS = fixture('widgets.config.yaml');
const at = (file: string, line: number) => `(${fixture(file)}:${line})`;

/** The explain output's lines about one object (from its head line to the next object's). */
function objectLines(stdout: string, head: string): string[] {
  const lines = stdout.split('\n');
  const start = lines.findIndex((l) => l.startsWith(head));
  assert.ok(start >= 0, `no object "${head}" in:\n${stdout}`);
  const end = lines.findIndex((l, i) => i > start && l !== '' && !l.startsWith(' '));
  return lines.slice(start, end < 0 ? undefined : end);
}

/** The line about one family (its series lines are below it, indented further). */
function familyLine(lines: readonly string[], family: string): string {
  const found = lines.filter((l) => l.startsWith(`    ${family} (`));
  assert.equal(found.length, 1, `one line for ${family} in:\n${lines.join('\n')}`);
  return found[0]!.trim();
}

async function explain(args: string[], stdin?: string) {
  return runCli(['explain', ...args], stdin);
}

describe('explain (offline): one line naming why a family gives no series, with file:line', () => {
  it('a metric whose path misses on the object names the segment and what was there', async () => {
    const out = await explain(['--config', WIDGETS, fixture('widgets.yaml')]);
    const half = objectLines(out.stdout, 'Widget example.com/v1 default/half');
    assert.equal(
      familyLine(half, 'kube_customresource_replicas'),
      `kube_customresource_replicas (gauge): no series (error): path [status,replicas] stops at "replicas": status has no key "replicas" (it has: phase) (nilIsZero: true would give 0) ${at('widgets.config.yaml', 14)}`,
    );
    assert.equal(out.code, 1);
  });

  it('a StateSet value outside list: the series are there, all 0, and the state is named', async () => {
    const out = await explain(['--config', WIDGETS, fixture('widgets.yaml')]);
    const web = objectLines(out.stdout, 'Widget example.com/v1 default/web');
    assert.equal(
      familyLine(web, 'kube_customresource_phase'),
      `kube_customresource_phase (stateset): 3 series (error): state "Bogus" at [status,phase] is not in list [Pending, Running, Failed]: every series is 0 ${at('widgets.config.yaml', 18)}`,
    );
    const samples = web.filter((l) => l.startsWith('      kube_customresource_phase{'));
    assert.equal(samples.length, 3);
    assert.ok(samples.every((l) => l.endsWith(' 0')));
    // An object whose state is in the list gives the same family with no complaint.
    const half = objectLines(out.stdout, 'Widget example.com/v1 default/half');
    assert.equal(
      familyLine(half, 'kube_customresource_phase'),
      `kube_customresource_phase (stateset): 3 series ${at('widgets.config.yaml', 15)}`,
    );
    assert.ok(
      half.includes(
        '      kube_customresource_phase{customresource_group="example.com",customresource_kind="Widget",customresource_version="v1",name="half",namespace="default",phase="Running"} 1',
      ),
    );
  });

  it('an Info metric with labels only on the resource level gives nothing, as in kube-state-metrics', async () => {
    const out = await explain(['--config', WIDGETS, fixture('widgets.yaml')]);
    const web = objectLines(out.stdout, 'Widget example.com/v1 default/web');
    assert.equal(
      familyLine(web, 'kube_customresource_info'),
      `kube_customresource_info (info): no series (error): an info metric gives a series only when a label of its own (each.info.labelsFromPath) resolves; this one has none, and resource- or metric-level labels do not count (as in kube-state-metrics) ${at('widgets.config.yaml', 26)}`,
    );
  });

  it('a map of non-numeric values used as gauge values', async () => {
    const out = await explain(['--config', WIDGETS, fixture('widgets.yaml')]);
    const web = objectLines(out.stdout, 'Widget example.com/v1 default/web');
    assert.equal(
      familyLine(web, 'kube_customresource_annotations'),
      `kube_customresource_annotations (gauge): no series (error): the map under [metadata,annotations] holds values that are not numbers (2 of 2 entries, e.g. team: "web"): a gauge needs numbers; an info metric with labelFromKey gives them as labels ${at('widgets.config.yaml', 33)}`,
    );
  });

  it('a nil path on a new object (no status yet) is expected: exit 0 when nothing else is wrong', async () => {
    const out = await explain(['--config', fixture('status.config.yaml'), fixture('new.yaml')]);
    const lines = objectLines(out.stdout, 'Widget example.com/v1 default/new');
    assert.equal(
      familyLine(lines, 'kube_customresource_replicas'),
      `kube_customresource_replicas (gauge): no series (expected): path [status,replicas] stops at "status": the object has no key "status" (it has: apiVersion, kind, metadata); the object has no status yet (a new object) ${at('status.config.yaml', 12)}`,
    );
    assert.equal(
      familyLine(lines, 'kube_customresource_phase'),
      `kube_customresource_phase (stateset): no series (expected): path [status,phase] stops at "status": the object has no key "status" (it has: apiVersion, kind, metadata); the object has no status yet (a new object) ${at('status.config.yaml', 19)}`,
    );
    assert.equal(out.stderr, '');
    assert.equal(out.code, 0);
  });

  it('the same path missing on an object whose status is written is an error', async () => {
    const out = await explain(['--config', fixture('status.config.yaml'), '-'], NO_REPLICAS);
    assert.match(
      out.stdout,
      /kube_customresource_replicas \(gauge\): no series \(error\): path \[status,replicas\] stops at "replicas": status has no key "replicas" \(it has: phase\)/,
    );
    assert.equal(out.code, 1);
  });

  it('a kind wildcard with a state set: bound per kind, each kind explained on its own', async () => {
    const out = await explain(['--config', fixture('wildcard.config.yaml'), fixture('wildcard.yaml')]);
    const am = objectLines(out.stdout, 'Alertmanager monitoring.coreos.com/v1 monitoring/main');
    assert.equal(
      am[1],
      `  resource monitoring.coreos.com/v1/* at ${fixture('wildcard.config.yaml')}:5 (as monitoring.coreos.com/v1/Alertmanager)`,
    );
    assert.equal(
      familyLine(am, 'kube_customresource_status_conditions'),
      `kube_customresource_status_conditions (stateset): 3 series ${at('wildcard.config.yaml', 12)}`,
    );
    const prom = objectLines(out.stdout, 'Prometheus monitoring.coreos.com/v1 monitoring/k8s');
    assert.equal(
      familyLine(prom, 'kube_customresource_status_conditions'),
      `kube_customresource_status_conditions (stateset): no series (error): path [status,conditions,0] stops at "conditions": status has no key "conditions" (it has: paused, replicas) ${at('wildcard.config.yaml', 17)}`,
    );
    assert.equal(out.code, 1);
  });

  it('an object cut off by a limit names the limit and where it was set', async () => {
    const series = await explain(['--config', WIDGETS, fixture('widgets.yaml'), '--limits.object-series=2']);
    const web = objectLines(series.stdout, 'Widget example.com/v1 default/web');
    assert.equal(
      familyLine(web, 'kube_customresource_replicas'),
      `kube_customresource_replicas (gauge): no series (error): cut off by --limits.object-series=2: object has more than 2 series (limits.objectSeries); dropped whole ${at('widgets.config.yaml', 4)}`,
    );
    // A limit that spans objects comes from the ingest path: the second object of the resource.
    const objects = await explain([
      '--config',
      WIDGETS,
      fixture('widgets.yaml'),
      '--limits.resource-objects=1',
    ]);
    assert.doesNotMatch(
      objectLines(objects.stdout, 'Widget example.com/v1 default/web').join('\n'),
      /cut off/,
    );
    assert.equal(
      familyLine(
        objectLines(objects.stdout, 'Widget example.com/v1 default/new'),
        'kube_customresource_replicas',
      ),
      `kube_customresource_replicas (gauge): no series (error): cut off by --limits.resource-objects=1: resource already has 1 objects (limits.resourceObjects); object not added ${at('widgets.config.yaml', 4)}`,
    );
    // A resource's own limits win over the flag, and are named as such.
    const own = await explain([
      '--config',
      fixture('limits.config.yaml'),
      fixture('new.yaml'),
      '--limits.object-series=100',
    ]);
    assert.match(
      own.stdout,
      /no series \(error\): cut off by the resource's limits.objectSeries: 1: object has more than 1 series/,
    );
  });

  it("an object of another shard is expected, with the owner's number", async () => {
    const out = await explain([
      '--config',
      fixture('status.config.yaml'),
      fixture('new.yaml'),
      '--total-shards',
      '2',
      '--shard',
      '0',
    ]);
    const lines = objectLines(out.stdout, 'Widget example.com/v1 default/new');
    assert.equal(
      familyLine(lines, 'kube_customresource_replicas'),
      `kube_customresource_replicas (gauge): no series (expected): another shard's object: uid "u2" belongs to shard 1 of 2, this is shard 0 (--shard) ${at('status.config.yaml', 5)}`,
    );
    assert.equal(out.code, 0);
    // Shard 1 owns it: explained as usual.
    const owner = await explain([
      '--config',
      fixture('status.config.yaml'),
      fixture('new.yaml'),
      '--total-shards',
      '2',
      '--shard',
      '1',
    ]);
    assert.doesNotMatch(owner.stdout, /another shard/);
    const bad = await explain([
      '--config',
      fixture('status.config.yaml'),
      fixture('new.yaml'),
      '--total-shards',
      '2',
      '--shard',
      '2',
    ]);
    assert.equal(bad.stderr, 'error: --shard must be in [0, 1] for --total-shards 2, got 2\n');
    assert.equal(bad.code, 1);
  });

  it('a family another resource defines with another type, and a label selector filter', async () => {
    const out = await explain(['--config', fixture('conflict.config.yaml'), fixture('conflict.yaml')]);
    assert.equal(
      familyLine(
        objectLines(out.stdout, 'Gadget example.com/v1 default/front'),
        'kube_customresource_replicas',
      ),
      `kube_customresource_replicas (info): no series (error): the config is invalid here (run and check refuse it): metric "kube_customresource_replicas" is of type info here but gauge at line 7; one name needs one type ${at('conflict.config.yaml', 16)}`,
    );
    assert.equal(
      familyLine(
        objectLines(out.stdout, 'Gadget example.com/v1 default/back'),
        'kube_customresource_replicas',
      ),
      `kube_customresource_replicas (info): no series (expected): filtered: the object's labels do not satisfy "tier=front" of labelSelector "tier=front" ${at('conflict.config.yaml', 13)}`,
    );
    assert.match(
      out.stderr,
      /^error: test\/fixtures\/explain\/conflict.config.yaml:16:11: spec.resources\[1\].metrics\[0\]: metric "kube_customresource_replicas" is of type info here but gauge at line 7; one name needs one type\n$/,
    );
    assert.equal(out.code, 1);
  });

  it('an object that matches no resource: the closest entry and why it does not match', async () => {
    const out = await explain(['--config', WIDGETS, fixture('widgets.yaml')]);
    assert.deepEqual(objectLines(out.stdout, 'Widget example.com/v2 default/v2'), [
      `Widget example.com/v2 default/v2 (${fixture('widgets.yaml')}#3)`,
      `  matches no resource (error): closest: example.com/v1/Widget at ${fixture('widgets.config.yaml')}:4: same group and kind, but version v1 where the object is v2 (the bridge lists the configured version; is v2 served too?)`,
    ]);
    assert.deepEqual(
      objectLines(out.stdout, 'Widget other.io/v1 o')[1],
      `  matches no resource (error): closest: example.com/v1/Widget at ${fixture('widgets.config.yaml')}:4: same kind, but group example.com where the object is other.io`,
    );
  });

  it('aggregate, health and conditions families: what the object adds, as /metrics would serve it', async () => {
    const out = await explain(['--config', fixture('aggregate.config.yaml'), fixture('healthy.yaml')]);
    assert.equal(out.code, 0, out.stdout);
    const lines = objectLines(out.stdout, 'Widget example.com/v1 default/web');
    assert.equal(
      familyLine(lines, 'kube_customresource_by_phase'),
      `kube_customresource_by_phase (aggregate): adds to 1 group ${at('aggregate.config.yaml', 8)}`,
    );
    assert.ok(
      lines.includes(
        '      kube_customresource_by_phase{customresource_group="example.com",customresource_kind="Widget",customresource_version="v1",phase="Running"} += this object\'s share: 1 series, sum 1',
      ),
    );
    assert.ok(lines.some((l) => /^ {6}kube_customresource_health\{.*state="healthy"\} 1$/.test(l)));
    assert.ok(
      lines.some((l) =>
        /^ {6}kube_customresource_health_last_transition_timestamp_seconds\{.*\} 1767225660$/.test(l),
      ),
    );
    assert.equal(
      familyLine(lines, 'kube_customresource_status_condition'),
      `kube_customresource_status_condition (stateset): 3 series ${at('aggregate.config.yaml', 6)}`,
    );
  });

  it('forEach levels: the inner path that finds nothing, an empty inner list, a state outside list', async () => {
    const out = await explain(['--config', fixture('foreach.config.yaml'), fixture('foreach.yaml')]);
    const family = 'kube_customresource_parent_condition';
    assert.equal(
      familyLine(objectLines(out.stdout, 'HTTPRoute gateway.networking.k8s.io/v1 d/r '), family),
      `${family} (stateset): no series (error): forEach path [conditions] stops at "conditions": the element has no key "conditions" (it has: parentRef), in every element of [status,parents] ${at('foreach.config.yaml', 16)}`,
    );
    assert.equal(
      familyLine(objectLines(out.stdout, 'HTTPRoute gateway.networking.k8s.io/v1 d/r2 '), family),
      `${family} (stateset): 6 series (error): state "Maybe" at [status,parents] > [conditions] > [status] is not in list [True, False, Unknown]: that element's series are all 0 ${at('foreach.config.yaml', 10)}`,
    );
    assert.equal(
      familyLine(objectLines(out.stdout, 'HTTPRoute gateway.networking.k8s.io/v1 d/r3 '), family),
      `${family} (stateset): no series (expected): forEach path [conditions] is an empty list in every element of [status,parents] ${at('foreach.config.yaml', 16)}`,
    );
  });

  it('exit codes: 0 all explained, 1 errors in objects, inputs or config, 2 usage', async () => {
    assert.equal((await explain(['--config', WIDGETS])).code, 2);
    assert.equal((await explain([fixture('new.yaml')])).code, 2);
    const mixed = await explain(['--config', WIDGETS, fixture('new.yaml'), 'widget/web']);
    assert.equal(mixed.stderr, 'error: give either object files or TYPE/NAME arguments, not both\n');
    assert.equal(mixed.code, 2);
    const nsOffline = await explain(['--config', WIDGETS, fixture('new.yaml'), '-n', 'default']);
    assert.equal(nsOffline.code, 2);
    const misspelt = await explain(['--config', WIDGETS, 'objects/web.yaml']);
    assert.match(misspelt.stderr, /^error: objects\/web.yaml: /);
    assert.equal(misspelt.code, 1);
    const missing = await explain(['--config', WIDGETS, fixture('nothere.yaml')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nothere.yaml/);
    const noConfig = await explain(['--config', fixture('nothere.config.yaml'), fixture('new.yaml')]);
    assert.equal(noConfig.code, 1);
    assert.match(noConfig.stderr, /^error: .*nothere.config.yaml.*file not found/);
  });
});

const NO_REPLICAS = `apiVersion: example.com/v1
kind: Widget
metadata: {name: old, namespace: default, uid: u9}
status: {phase: Running}
`;
