import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/config/ConfigError.ts';
import { parseConfig } from '../../src/config/loadConfig.ts';

const wrap = (resource: string) => `spec:\n  resources:\n${resource}`;

describe('parseConfig', () => {
  it('keeps scalar source text, as Go decodes into strings', () => {
    const cfg = parseConfig(
      wrap(`    - groupVersionKind: {group: a.io, version: v1, kind: Foo}
      metrics:
        - name: m
          each:
            type: StateSet
            stateSet:
              path: [spec, order, 0, 1.0, 1e3]
              labelName: s
              list: [True, False, ~, "x"]
`),
      'c.yaml',
    );
    const each = cfg.resources[0]!.metrics[0]!.each;
    assert.equal(each.type, 'stateset');
    if (each.type !== 'stateset') return;
    assert.deepEqual(each.stateSet.path.segments, ['spec', 'order', '0', '1.0', '1e3']);
    assert.deepEqual(each.stateSet.list, ['True', 'False', 'x']);
  });

  it('distinguishes an absent metricNamePrefix from an empty one', () => {
    const absent = parseConfig(
      wrap(
        `    - groupVersionKind: {group: a.io, version: v1, kind: Foo}\n      metrics: [{name: m, each: {type: Gauge, gauge: {}}}]\n`,
      ),
      'c.yaml',
    );
    const empty = parseConfig(
      wrap(
        `    - groupVersionKind: {group: a.io, version: v1, kind: Foo}\n      metricNamePrefix: ""\n      metrics: [{name: m, each: {type: Gauge, gauge: {}}}]\n`,
      ),
      'c.yaml',
    );
    const nullPrefix = parseConfig(
      wrap(
        `    - groupVersionKind: {group: a.io, version: v1, kind: Foo}\n      metricNamePrefix:\n      metrics: [{name: m, each: {type: Gauge, gauge: {}}}]\n`,
      ),
      'c.yaml',
    );
    assert.equal(absent.resources[0]!.metricNamePrefix, undefined);
    assert.equal(empty.resources[0]!.metricNamePrefix, '');
    assert.equal(nullPrefix.resources[0]!.metricNamePrefix, undefined);
  });

  it('accepts the type case-insensitively', () => {
    for (const t of ['Gauge', 'gauge', 'GAUGE']) {
      const cfg = parseConfig(
        wrap(
          `    - groupVersionKind: {group: a.io, version: v1, kind: Foo}\n      metrics: [{name: m, each: {type: ${t}, gauge: {}}}]\n`,
        ),
        'c.yaml',
      );
      assert.equal(cfg.resources[0]!.metrics[0]!.each.type, 'gauge');
    }
  });

  it('reports every problem at once, each with line and column', () => {
    assert.throws(
      () =>
        parseConfig(
          wrap(`    - groupVersionKind: {group: a.io, version: v1, kind: Foo}
      metrics:
        - name: a
          each: {type: Gauge, gague: {}}
        - name: b
          each: {type: Histogram}
`),
          'c.yaml',
        ),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        const messages = err.problems.map(
          (p) => `${p.location.line}:${p.location.column} ${p.location.keyPath}: ${p.message}`,
        );
        assert.deepEqual(messages, [
          '6:31 spec.resources[0].metrics[0].each.gague: unknown field "gague" (did you mean "gauge"?)',
          '6:17 spec.resources[0].metrics[0].each.gauge: expected each.gauge to not be nil (type Gauge needs the "gauge" block)',
          '8:24 spec.resources[0].metrics[1].each.type: unknown metric type "Histogram" (expected Gauge, StateSet or Info)',
        ]);
        return true;
      },
    );
  });
});
