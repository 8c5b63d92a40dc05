import { readFileSync } from 'node:fs';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import {
  AggregationTemporalityPreference,
  OTLPMetricExporter as OTLPJsonMetricExporter,
} from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OTLPProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { OtlpSettings } from './OtelSettings.ts';

const TEMPORALITY = {
  cumulative: AggregationTemporalityPreference.CUMULATIVE,
  delta: AggregationTemporalityPreference.DELTA,
  lowmemory: AggregationTemporalityPreference.LOWMEMORY,
} as const;

/** The OTLP/HTTP exporter for the chosen encoding; unset options fall back to OTEL_EXPORTER_OTLP_*. */
export function createOtlpExporter(settings: OtlpSettings): PushMetricExporter {
  const options = {
    temporalityPreference: TEMPORALITY[settings.temporality],
    ...(settings.url !== undefined ? { url: settings.url } : {}),
    ...(settings.headers !== undefined ? { headers: settings.headers } : {}),
    ...(settings.timeoutMillis !== undefined ? { timeoutMillis: settings.timeoutMillis } : {}),
    ...(settings.compression !== undefined
      ? {
          compression:
            settings.compression === 'gzip' ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
        }
      : {}),
    ...(settings.tls
      ? {
          httpAgentOptions: {
            ...(settings.tls.caFile ? { ca: readFileSync(settings.tls.caFile) } : {}),
            ...(settings.tls.certFile ? { cert: readFileSync(settings.tls.certFile) } : {}),
            ...(settings.tls.keyFile ? { key: readFileSync(settings.tls.keyFile) } : {}),
          },
        }
      : {}),
  };
  return settings.protocol === 'http/json'
    ? new OTLPJsonMetricExporter(options)
    : new OTLPProtoMetricExporter(options);
}

/** Where the exporter sends, for logs (the env var when no URL was given in code). */
export function otlpTarget(settings: OtlpSettings, env: NodeJS.ProcessEnv = process.env): string {
  if (settings.url) return settings.url;
  if (env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT) return env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318';
  return `${base.replace(/\/$/, '')}/v1/metrics`;
}
