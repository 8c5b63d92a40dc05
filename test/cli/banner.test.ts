import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnCli } from '../support/spawnCli.ts';
import { until } from '../support/until.ts';

/** Starts `run` on the backup example with these OTEL_* variables and returns its startup line. */
async function startupLine(env: Record<string, string>): Promise<string> {
  const cli = spawnCli(
    [
      'run',
      '--config=examples/backup/config.yaml',
      '--source=files:examples/backup',
      '--web.listen-address=127.0.0.1:0',
      '--telemetry.listen-address=',
      '--log.level=error',
    ],
    { ...process.env, ...env },
  );
  try {
    return await until(
      'the startup line',
      () => Promise.resolve(cli.stdout().includes('\n') ? cli.stdout() : undefined),
      20_000,
    );
  } finally {
    const { code } = await cli.signal('SIGTERM');
    assert.equal(code, 0, cli.stderr());
  }
}

describe('the startup line of run', () => {
  it('points at the Prometheus endpoint when it serves', async () => {
    const line = await startupLine({ OTEL_METRICS_EXPORTER: 'prometheus' });
    assert.match(line, /^crd-metrics-bridge is serving 1 object: open http:\/\/127\.0\.0\.1:\d+\/metrics\n$/);
  });

  it('with only OTLP on, names where it pushes, not a disabled endpoint', async () => {
    const line = await startupLine({
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://127.0.0.1:9/v1/metrics',
      OTEL_METRIC_EXPORT_INTERVAL: '600000',
    });
    assert.equal(
      line,
      'crd-metrics-bridge is serving 1 object: pushing OTLP to http://127.0.0.1:9/v1/metrics\n',
    );
  });

  it('with no exporter, says so', async () => {
    const line = await startupLine({ OTEL_METRICS_EXPORTER: 'none' });
    assert.equal(
      line,
      'crd-metrics-bridge is serving 1 object, but no exporter is on (OTEL_METRICS_EXPORTER)\n',
    );
  });
});
