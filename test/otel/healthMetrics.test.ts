import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import type { FamilyMeta, HealthHistorySpec } from '../../src/model/FamilyMeta.ts';
import { HEALTH_SCOPE, HealthMetrics } from '../../src/otel/HealthMetrics.ts';
import { PrometheusPullReader } from '../../src/otel/PrometheusPullReader.ts';
import { assertOpenMetricsAccepts } from '../support/openmetrics.ts';
import { assertPromtoolAccepts } from '../support/promtool.ts';

const SPEC: HealthHistorySpec = {
  transitions: 'kube_customresource_health_transitions',
  timeToHealthy: 'kube_customresource_time_to_healthy_seconds',
  buckets: [1, 5, 30, 300],
};
const FAMILY: FamilyMeta = {
  index: 0,
  name: 'kube_customresource_health_last_transition_timestamp_seconds',
  type: 'gauge',
  help: '',
  health: SPEC,
};

async function scrapeText(reader: PrometheusPullReader, format: 'text' | 'openmetrics'): Promise<string> {
  let out = '';
  for await (const chunk of await reader.scrapeCustomResources(format)) out += chunk;
  return out;
}

function setUp(specs: HealthHistorySpec[] = [SPEC]) {
  const reader = new PrometheusPullReader({
    producers: [],
    processMetrics: false,
    healthFamilies: () => specs,
  });
  const provider = new MeterProvider({ readers: [reader] });
  const ignored: string[] = [];
  const metrics = new HealthMetrics(provider.getMeter(HEALTH_SCOPE.name), (name) => ignored.push(name));
  return { reader, provider, metrics, ignored };
}

const teamA = [
  ['namespace', 'team-a'],
  ['customresource_group', 'bench.example.com'],
  ['customresource_kind', 'Foo'],
] as const;
const odd = [
  ['namespace', 'team-"b"\\'],
  ['customresource_group', 'bench.example.com'],
  ['customresource_kind', 'Foo'],
] as const;

/** Sample lines, sorted: what both writers must agree on. */
function sampleLines(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .sort();
}

describe('health counters and histograms on the Prometheus endpoint', () => {
  it('writes the same samples in text 0.0.4 as the SDK serializer does, and valid OpenMetrics with _created', async () => {
    const { reader, provider, metrics } = setUp();
    metrics.transition(FAMILY, teamA, 'progressing', 'healthy');
    metrics.transition(FAMILY, teamA, 'progressing', 'healthy');
    metrics.transition(FAMILY, teamA, 'healthy', 'degraded');
    metrics.transition(FAMILY, odd, 'unknown', 'healthy');
    metrics.timeToHealthy(FAMILY, teamA, 0.5);
    metrics.timeToHealthy(FAMILY, teamA, 12);
    metrics.timeToHealthy(FAMILY, teamA, 4000);
    metrics.timeToHealthy(FAMILY, odd, 3);

    const text = await scrapeText(reader, 'text');
    const { resourceMetrics } = await reader.collect();
    const sdk = new PrometheusSerializer(undefined, false, undefined, true, true).serialize({
      resource: resourceMetrics.resource,
      scopeMetrics: resourceMetrics.scopeMetrics.filter((s) => s.scope.name === HEALTH_SCOPE.name),
    });
    assert.deepEqual(sampleLines(text), sampleLines(sdk));
    assert.ok(text.includes('kube_customresource_time_to_healthy_seconds_bucket{namespace="team-a",'));
    assert.match(
      text,
      /^kube_customresource_health_transitions_total\{namespace="team-a",customresource_group="bench.example.com",customresource_kind="Foo",from="progressing",to="healthy"\} 2$/m,
    );
    assertPromtoolAccepts(text);

    const om = await scrapeText(reader, 'openmetrics');
    assertOpenMetricsAccepts([om]);
    assert.match(om, /^# TYPE kube_customresource_health_transitions counter$/m);
    assert.match(om, /^kube_customresource_time_to_healthy_seconds_bucket\{.*le="30.0"\} 2$/m);
    const created = [...om.matchAll(/^kube_customresource_health_transitions_created\{.*\} (\S+)$/gm)];
    assert.equal(created.length, 3);
    for (const [, value] of created) assert.ok(Math.abs(Number(value) - Date.now() / 1000) < 60, value);
    assert.ok(om.endsWith('# EOF\n'));
    await provider.shutdown();
  });

  it('announces each shared family once, with no samples before anything is counted', async () => {
    const { reader, provider } = setUp([SPEC, SPEC]);
    const text = await scrapeText(reader, 'text');
    assert.equal(
      text,
      [
        '# HELP kube_customresource_health_transitions_total Health transitions seen in watch events, by namespace and from/to state (a listing sets states without counting; docs/health.md).',
        '# TYPE kube_customresource_health_transitions_total counter',
        "# HELP kube_customresource_time_to_healthy_seconds Seconds from each object's creation to its first healthy state, observed when the transition is seen (objects first seen healthy are not; docs/health.md).",
        '# TYPE kube_customresource_time_to_healthy_seconds histogram',
        '',
      ].join('\n'),
    );
    assertOpenMetricsAccepts([await scrapeText(reader, 'openmetrics')]);
    await provider.shutdown();
  });

  it('keeps a histogram on the buckets it was created with, and says so when a reload asks for others', async () => {
    const { reader, provider, metrics, ignored } = setUp();
    metrics.timeToHealthy(FAMILY, teamA, 2);
    const changed: FamilyMeta = { ...FAMILY, health: { ...SPEC, buckets: [10, 100] } };
    metrics.timeToHealthy(changed, teamA, 50);
    assert.deepEqual(ignored, ['kube_customresource_time_to_healthy_seconds']);
    const text = await scrapeText(reader, 'text');
    assert.match(text, /le="5"\} 1$/m);
    assert.match(text, /le="300"\} 2$/m);
    assert.doesNotMatch(text, /le="100"/);
    await provider.shutdown();
  });

  it('leaves the health families out of the self-metrics endpoint', async () => {
    const { reader, provider, metrics } = setUp();
    metrics.transition(FAMILY, teamA, 'progressing', 'healthy');
    const self = await reader.scrapeSelfMetrics('text');
    assert.doesNotMatch(self, /health_transitions/);
    assert.match(await scrapeText(reader, 'text'), /health_transitions_total\{/);
    await provider.shutdown();
  });
});
