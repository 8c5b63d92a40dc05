import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { restrictNamespaces } from '../../src/app/createSources.ts';
import { parseConfig } from '../../src/config/loadConfig.ts';
import type { ResourceConfig } from '../../src/config/types.ts';

const CONFIG = `
spec:
  resources:
    - groupVersionKind: { group: a.io, version: v1, kind: Plain }
      metrics: [{ name: x, each: { type: Gauge, gauge: { valueFrom: [spec, n] } } }]
    - groupVersionKind: { group: a.io, version: v1, kind: Own }
      namespaces: [team-a, team-b]
      fieldSelector: metadata.name!=skip
      metrics: [{ name: y, each: { type: Gauge, gauge: { valueFrom: [spec, n] } } }]
`;

function resources(): readonly ResourceConfig[] {
  return parseConfig(CONFIG, 'config.yaml').resources;
}

function recordingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

const view = (r: ResourceConfig) => ({
  kind: r.groupVersionKind.kind,
  namespaces: r.namespaces,
  fieldSelector: r.fieldSelector,
});

describe('the namespace flags applied to the configured resources (KSM semantics)', () => {
  it('no flags: the resources as configured', () => {
    const { logger } = recordingLogger();
    assert.deepEqual(restrictNamespaces(resources(), {}, logger).map(view), resources().map(view));
  });

  it('--namespaces: every resource in those namespaces; a resource of its own is narrowed to them', () => {
    const { logger, lines } = recordingLogger();
    const out = restrictNamespaces(resources(), { namespaces: ['team-b', 'team-c'] }, logger);
    assert.deepEqual(out.map(view), [
      { kind: 'Plain', namespaces: ['team-b', 'team-c'], fieldSelector: undefined },
      { kind: 'Own', namespaces: ['team-b'], fieldSelector: 'metadata.name!=skip' },
    ]);
    assert.equal(lines.length, 0);
  });

  it('a resource left with no namespace is not watched, and the log says so', () => {
    const { logger, lines } = recordingLogger();
    const out = restrictNamespaces(resources(), { namespaces: ['other'] }, logger);
    assert.deepEqual(out.map(view), [{ kind: 'Plain', namespaces: ['other'], fieldSelector: undefined }]);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.resource, 'a.io/v1/Own');
    assert.match(String(lines[0]!.msg), /not watched/);
  });

  it('--namespaces-denylist: metadata.namespace!=NS per namespace, joined to a field selector of its own', () => {
    const { logger } = recordingLogger();
    const out = restrictNamespaces(resources(), { namespacesDenylist: ['kube-system', 'team-a'] }, logger);
    assert.deepEqual(out.map(view), [
      {
        kind: 'Plain',
        namespaces: [],
        fieldSelector: 'metadata.namespace!=kube-system,metadata.namespace!=team-a',
      },
      {
        kind: 'Own',
        namespaces: ['team-a', 'team-b'],
        fieldSelector: 'metadata.name!=skip,metadata.namespace!=kube-system,metadata.namespace!=team-a',
      },
    ]);
  });
});
