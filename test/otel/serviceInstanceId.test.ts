import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { createTelemetry } from '../../src/otel/createTelemetry.ts';
import type { OtelSettings } from '../../src/otel/OtelSettings.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function resourceAttributes(attributes: OtelSettings['resourceAttributes'] = {}) {
  const telemetry = createTelemetry({
    otel: {
      disabled: false,
      prometheus: true,
      prometheusAddress: undefined,
      otlp: [],
      resourceAttributes: attributes,
      origin: 'test',
    },
    logger: pino({ level: 'silent' }),
    version: '0.0.0',
  });
  try {
    const { resourceMetrics } = await telemetry.pullReader!.collect();
    return resourceMetrics.resource.attributes;
  } finally {
    await telemetry.shutdown(1000);
  }
}

describe("the resource's service.instance.id", () => {
  const saved = process.env.OTEL_RESOURCE_ATTRIBUTES;
  afterEach(() => {
    if (saved === undefined) delete process.env.OTEL_RESOURCE_ATTRIBUTES;
    else process.env.OTEL_RESOURCE_ATTRIBUTES = saved;
  });

  it('is a random UUID when nothing sets it, the same for the life of the process', async () => {
    delete process.env.OTEL_RESOURCE_ATTRIBUTES;
    const first = (await resourceAttributes())['service.instance.id'];
    assert.match(String(first), UUID);
    assert.equal((await resourceAttributes())['service.instance.id'], first);
  });

  it('OTEL_RESOURCE_ATTRIBUTES wins over the generated one', async () => {
    process.env.OTEL_RESOURCE_ATTRIBUTES = 'service.instance.id=pod-a,team=x';
    const attributes = await resourceAttributes();
    assert.equal(attributes['service.instance.id'], 'pod-a');
    assert.equal(attributes.team, 'x');
  });

  it('the config file or the shard (resourceAttributes) win over both', async () => {
    process.env.OTEL_RESOURCE_ATTRIBUTES = 'service.instance.id=pod-a';
    const attributes = await resourceAttributes({ 'service.instance.id': 'shard-1' });
    assert.equal(attributes['service.instance.id'], 'shard-1');
  });
});
