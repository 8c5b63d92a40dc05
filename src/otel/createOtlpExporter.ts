import { readFileSync } from 'node:fs';
import {
  CumulativeTemporalitySelector,
  DeltaTemporalitySelector,
  LowMemoryTemporalitySelector,
} from '@opentelemetry/exporter-metrics-otlp-http';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import {
  convertLegacyHttpOptions,
  createOtlpHttpExportDelegate,
} from '@opentelemetry/otlp-exporter-base/node-http';
import type { OTLPExporterNodeConfigBase } from '@opentelemetry/otlp-exporter-base/node-http';
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import type { IExportMetricsServiceResponse, ISerializer } from '@opentelemetry/otlp-transformer';
import { OtlpMetricExporter } from './OtlpMetricExporter.ts';
import type { EncodedRequest } from './OtlpMetricExporter.ts';
import type { OtlpSettings } from './OtelSettings.ts';

const TEMPORALITY = {
  cumulative: CumulativeTemporalitySelector,
  delta: DeltaTemporalitySelector,
  lowmemory: LowMemoryTemporalitySelector,
} as const;

/**
 * The OTLP/HTTP exporter for the chosen encoding. The HTTP side (endpoint, headers, compression,
 * timeout, certificates, retries with backoff; unset options fall back to OTEL_EXPORTER_OTLP_*)
 * is the OTel SDK's own transport, built exactly as its OTLPMetricExporter builds it; only the
 * request encoding is ours (see OtlpMetricExporter for why).
 */
export function createOtlpExporter(
  settings: OtlpSettings,
  tuning: { maxPointsPerRequest?: number; sliceMillis?: number } = {},
): OtlpMetricExporter {
  const options: OTLPExporterNodeConfigBase = {
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
  const json = settings.protocol === 'http/json';
  const responses = json ? JsonMetricsSerializer : ProtobufMetricsSerializer;
  // The body is encoded before it reaches the transport; the serializer only hands it over.
  const serializer: ISerializer<EncodedRequest, IExportMetricsServiceResponse> = {
    serializeRequest: (request) => request.body,
    deserializeResponse: (data) => responses.deserializeResponse(data),
  };
  const delegate = createOtlpHttpExportDelegate(
    convertLegacyHttpOptions(options, 'METRICS', 'v1/metrics', {
      'Content-Type': json ? 'application/json' : 'application/x-protobuf',
    }),
    serializer,
    'otlp_http_metric_exporter',
    { name: 'metric_data_point', countItems: (request: EncodedRequest) => request.points },
    undefined,
  );
  return new OtlpMetricExporter({
    encoding: json ? 'json' : 'protobuf',
    delegate,
    temporality: TEMPORALITY[settings.temporality],
    histogram: settings.histogram,
    ...tuning,
  });
}

/** Where the exporter sends, for logs (the env var when no URL was given in code). */
export function otlpTarget(settings: OtlpSettings, env: NodeJS.ProcessEnv = process.env): string {
  if (settings.url) return settings.url;
  if (env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT) return env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318';
  return `${base.replace(/\/$/, '')}/v1/metrics`;
}
