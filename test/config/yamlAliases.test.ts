import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/config/ConfigError.ts';
import { parseConfig } from '../../src/config/loadConfig.ts';

/** The config without its source positions, which differ between an alias and what it names. */
function withoutLocations(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (key, v: unknown) =>
      key === 'location' || key === 'nameLocations' || key === 'file'
        ? undefined
        : v instanceof Map
          ? [...(v as Map<unknown, unknown>).entries()]
          : v,
    ),
  );
}

const WRITTEN_OUT = `spec:
  resources:
    - groupVersionKind: { group: example.com, version: v1, kind: Widget }
      labelsFromPath: { name: [metadata, name], team: [metadata, labels, team] }
      metrics:
        - name: size
          help: Size
          each: { type: Gauge, gauge: { path: [spec, size] } }
        - name: replicas
          help: Replicas
          each: { type: Gauge, gauge: { path: [spec, replicas] } }
    - groupVersionKind: { group: example.com, version: v1, kind: Gadget }
      labelsFromPath: { name: [metadata, name], team: [metadata, labels, team], zone: [spec, zone] }
      metrics:
        - name: size
          help: Size
          each: { type: Gauge, gauge: { path: [spec, size] } }
`;

// The same config with anchors, aliases and a merge key, as kube-state-metrics (yaml.v3) reads it.
const WITH_ALIASES = `spec:
  resources:
    - groupVersionKind: { group: example.com, version: v1, kind: Widget }
      labelsFromPath: &labels { name: [metadata, name], team: [metadata, labels, team] }
      metrics:
        - &size
          name: size
          help: Size
          each: { type: Gauge, gauge: { path: [spec, size] } }
        - name: replicas
          help: Replicas
          each: { type: Gauge, gauge: { path: [spec, replicas] } }
    - groupVersionKind: { group: example.com, version: v1, kind: Gadget }
      labelsFromPath:
        <<: *labels
        zone: [spec, zone]
      metrics: [*size]
`;

describe('YAML anchors and aliases in the config', () => {
  it('are accepted, merge keys included, and read as the written-out config', () => {
    assert.deepEqual(
      withoutLocations(parseConfig(WITH_ALIASES, 'aliases.yaml')),
      withoutLocations(parseConfig(WRITTEN_OUT, 'written.yaml')),
    );
  });

  it('explicit keys win over merged ones', () => {
    const config = parseConfig(
      WITH_ALIASES.replace('zone: [spec, zone]', 'zone: [spec, zone]\n        team: [spec, owner]'),
      'c.yaml',
    );
    const labels = config.resources[1]!.labelsFromPath;
    assert.deepEqual(
      [...labels.entries()].map(([name, path]) => `${name}=${path.segments.join('.')}`).sort(),
      ['name=metadata.name', 'team=spec.owner', 'zone=spec.zone'],
    );
  });

  it(
    'an alias bomb fails at once with one problem (a billion laughs, nine levels of nine)',
    { timeout: 10_000 },
    () => {
      const levels = ['        l0: &l0 [a, a, a, a, a, a, a, a, a]'];
      for (let i = 1; i < 9; i++)
        levels.push(
          `        l${i}: &l${i} [${Array(9)
            .fill(`*l${i - 1}`)
            .join(', ')}]`,
        );
      const bomb = `spec:\n  resources:\n    - groupVersionKind: { group: example.com, version: v1, kind: Widget }\n      labelsFromPath:\n${levels.join('\n')}\n      metrics: [{ name: m, help: h, each: { type: Gauge, gauge: { path: [spec] } } }]\n`;
      assert.throws(
        () => parseConfig(bomb, 'bomb.yaml'),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.equal(err.problems.length, 1, err.message);
          assert.match(err.problems[0]!.message, /aliases expand to more than 100000 nodes/);
          assert.equal(err.problems[0]!.location.file, 'bomb.yaml');
          return true;
        },
      );
    },
  );
});
