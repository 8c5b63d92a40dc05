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

describe('OTLP settings from the environment', () => {
  const push = { OTEL_METRICS_EXPORTER: 'prometheus,otlp' };

  it('rejects an endpoint that is not an http(s) URL, in one line naming the variable', () => {
    for (const name of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'])
      for (const value of ['notaurl', 'localhost:4318', 'ftp://collector:4318'])
        assert.throws(
          () => otelSettingsFromEnv({ ...push, [name]: value }),
          (err: Error) =>
            err instanceof OtelSettingsError &&
            err.message === `${name}=${value}: expected an http:// or https:// URL`,
        );
    assert.equal(
      otelSettingsFromEnv({ ...push, OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector:4318' }).otlp.length,
      1,
    );
    // Only the endpoint the exporter reads is judged: the signal-specific one wins.
    assert.equal(
      otelSettingsFromEnv({
        ...push,
        OTEL_EXPORTER_OTLP_ENDPOINT: 'notaurl',
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://collector:4318/v1/metrics',
      }).otlp.length,
      1,
    );
    // Not pushing: the variable is not read, so not judged either.
    assert.equal(otelSettingsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'notaurl' }).otlp.length, 0);
  });

  it("bounds a request by its export's timeout unless a request timeout is set", () => {
    const timeout = (env: NodeJS.ProcessEnv) =>
      otelSettingsFromEnv({ ...push, ...env }).otlp[0]!.timeoutMillis;
    // The exporter's own default, well inside the default 30 s export timeout.
    assert.equal(timeout({}), 10_000);
    // A 2 s interval caps the export, and so the request, at 2 s.
    assert.equal(timeout({ OTEL_METRIC_EXPORT_INTERVAL: '2000' }), 2_000);
    assert.equal(timeout({ OTEL_METRIC_EXPORT_INTERVAL: '2000', OTEL_METRIC_EXPORT_TIMEOUT: '1000' }), 1_000);
    // Set explicitly, the exporter reads it itself.
    assert.equal(
      timeout({ OTEL_METRIC_EXPORT_INTERVAL: '2000', OTEL_EXPORTER_OTLP_TIMEOUT: '5000' }),
      undefined,
    );
    assert.equal(timeout({ OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '5000' }), undefined);
  });
});
