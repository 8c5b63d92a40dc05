import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { otelSettingsFromEnv, OtelSettingsError, withClusterName } from '../../src/otel/OtelSettings.ts';

describe('cluster identity', () => {
  it('--cluster-name sets k8s.cluster.name on the resource, over OTEL_RESOURCE_ATTRIBUTES', () => {
    const env = otelSettingsFromEnv({ OTEL_METRICS_EXPORTER: 'prometheus,otlp' });
    assert.deepEqual(withClusterName(env, 'eu-1').resourceAttributes, { 'k8s.cluster.name': 'eu-1' });
    assert.equal(withClusterName(env, undefined), env);
    assert.throws(() => withClusterName(env, ' '), OtelSettingsError);
  });
});
