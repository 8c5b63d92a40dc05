import { createRequire } from 'node:module';
import type * as OtelConfiguration from '@opentelemetry/configuration';
import type { Attributes } from '@opentelemetry/api';

/**
 * @opentelemetry/configuration, loaded only for an OTEL_CONFIG_FILE: its schema validator is a
 * large module that every start would pay for.
 */
function configuration(): typeof OtelConfiguration {
  return createRequire(import.meta.url)('@opentelemetry/configuration') as typeof OtelConfiguration;
}

export type OtlpProtocol = 'http/protobuf' | 'http/json';

/** How the OTLP push is set up; `undefined` fields fall back to the exporter's own OTEL_* handling. */
export interface OtlpSettings {
  readonly protocol: OtlpProtocol;
  /** Full URL of the metrics endpoint (…/v1/metrics). */
  readonly url: string | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly compression: 'gzip' | 'none' | undefined;
  readonly timeoutMillis: number | undefined;
  readonly temporality: 'cumulative' | 'delta' | 'lowmemory';
  /**
   * How histograms (time to healthy) are pushed: base-2 exponential (Prometheus 3 stores them as
   * native histograms) or with the explicit buckets of the Prometheus exposition
   * (OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION). @default 'exponential'
   */
  readonly histogram: 'exponential' | 'explicit';
  readonly tls:
    { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string } | undefined;
  /** Delay between exports. @default 60000 */
  readonly intervalMillis: number;
  /** Time allowed for one export, retries included. @default 30000 */
  readonly exportTimeoutMillis: number;
}

/** The OpenTelemetry side of the bridge, from OTEL_* variables or an OTEL_CONFIG_FILE. */
export interface OtelSettings {
  /** OTEL_SDK_DISABLED / `disabled: true`: no OTLP push (the Prometheus endpoint stays). */
  readonly disabled: boolean;
  /** Serve the Prometheus pull endpoint. */
  readonly prometheus: boolean;
  /** From a declarative config's pull reader: where to serve it (overrides the default listen address). */
  readonly prometheusAddress: { readonly host: string | undefined; readonly port: number } | undefined;
  readonly otlp: readonly OtlpSettings[];
  /** Extra resource attributes (service.name etc. come from the standard env detector as well). */
  readonly resourceAttributes: Attributes;
  /** Where these settings came from, for the startup log. */
  readonly origin: string;
}

export class OtelSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OtelSettingsError';
  }
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0)
    throw new OtelSettingsError(`${name}=${raw} is not a non-negative number of milliseconds`);
  return n;
}

/**
 * Reads the standard variables. OTEL_METRICS_EXPORTER defaults to `prometheus` (this bridge's
 * Prometheus endpoint, as kube-state-metrics serves); `prometheus,otlp` adds the push.
 */
export function otelSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): OtelSettings {
  if (env.OTEL_CONFIG_FILE) return otelSettingsFromFile(env.OTEL_CONFIG_FILE);
  const disabled = (env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true';
  const exporters = (env.OTEL_METRICS_EXPORTER ?? 'prometheus')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  for (const e of exporters) {
    if (!['prometheus', 'otlp', 'none'].includes(e)) {
      throw new OtelSettingsError(
        `OTEL_METRICS_EXPORTER: unsupported exporter "${e}" (use prometheus, otlp or none)`,
      );
    }
  }
  const protocolRaw = (
    env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL ??
    env.OTEL_EXPORTER_OTLP_PROTOCOL ??
    'http/protobuf'
  ).trim();
  if (protocolRaw !== 'http/protobuf' && protocolRaw !== 'http/json') {
    throw new OtelSettingsError(
      `OTEL_EXPORTER_OTLP_PROTOCOL=${protocolRaw}: only http/protobuf and http/json are supported`,
    );
  }
  const temporality = (env.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE ?? 'cumulative')
    .trim()
    .toLowerCase();
  if (temporality !== 'cumulative' && temporality !== 'delta' && temporality !== 'lowmemory') {
    throw new OtelSettingsError(
      `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=${temporality}: use cumulative, delta or lowmemory`,
    );
  }
  const histogramRaw = (env.OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION ?? '')
    .trim()
    .toLowerCase();
  if (
    histogramRaw !== '' &&
    histogramRaw !== 'base2_exponential_bucket_histogram' &&
    histogramRaw !== 'explicit_bucket_histogram'
  ) {
    throw new OtelSettingsError(
      `OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION=${histogramRaw}: use base2_exponential_bucket_histogram or explicit_bucket_histogram`,
    );
  }
  const histogram = histogramRaw === 'explicit_bucket_histogram' ? 'explicit' : 'exponential';
  const interval = positiveInt(env, 'OTEL_METRIC_EXPORT_INTERVAL', 60_000);
  const exportTimeout = Math.min(positiveInt(env, 'OTEL_METRIC_EXPORT_TIMEOUT', 30_000), interval);
  const pushing = exporters.includes('otlp') && !disabled;
  if (pushing) {
    // The one the exporter reads: the signal-specific variable first.
    const name = env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT?.trim()
      ? 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'
      : 'OTEL_EXPORTER_OTLP_ENDPOINT';
    const raw = env[name]?.trim();
    if (raw && !isHttpUrl(raw))
      throw new OtelSettingsError(`${name}=${raw}: expected an http:// or https:// URL`);
  }
  // Unless set, one request may not outlive the export it belongs to (the exporter's default is
  // 10 s): with a short interval, each later export only reported that one was still running, and
  // the request's own error (connection refused, ...) surfaced late or not at all.
  const requestTimeoutSet = [env.OTEL_EXPORTER_OTLP_METRICS_TIMEOUT, env.OTEL_EXPORTER_OTLP_TIMEOUT].some(
    (v) => v !== undefined && v.trim() !== '',
  );
  const otlp: OtlpSettings[] = pushing
    ? [
        {
          protocol: protocolRaw,
          // The exporters read endpoint, headers, compression, certificates and a timeout that
          // is set from OTEL_EXPORTER_OTLP_[METRICS_]* themselves (signal-specific first).
          url: undefined,
          headers: undefined,
          compression: undefined,
          timeoutMillis: requestTimeoutSet ? undefined : Math.min(10_000, exportTimeout),
          tls: undefined,
          temporality,
          histogram,
          intervalMillis: interval,
          exportTimeoutMillis: exportTimeout,
        },
      ]
    : [];
  return {
    disabled,
    prometheus: exporters.includes('prometheus'),
    prometheusAddress: undefined,
    otlp,
    resourceAttributes: {},
    origin: 'environment',
  };
}

/** Reads an OpenTelemetry declarative configuration file (file_format 1.x) with the official parser. */
export function otelSettingsFromFile(file: string): OtelSettings {
  const { mergeHeadersConfig, mergeResourceAttributesConfig, parseConfigFile } = configuration();
  let model;
  try {
    model = parseConfigFile(file);
  } catch (err) {
    throw new OtelSettingsError(`OTEL_CONFIG_FILE ${file}: ${(err as Error).message}`);
  }
  const disabled = model.disabled === true;
  let prometheus = false;
  let prometheusAddress: OtelSettings['prometheusAddress'];
  const otlp: OtlpSettings[] = [];
  (model.meter_provider?.readers ?? []).forEach((reader, i) => {
    const where = `OTEL_CONFIG_FILE ${file}: meter_provider.readers[${i}]`;
    if (reader.pull) {
      const prom = reader.pull.exporter['prometheus/development'];
      if (!prom && Object.keys(reader.pull.exporter).length > 0) {
        throw new OtelSettingsError(`${where}.pull.exporter: only prometheus/development is supported`);
      }
      prometheus = true;
      if (prom && (prom.host != null || prom.port != null)) {
        prometheusAddress = { host: prom.host ?? undefined, port: prom.port ?? 9464 };
      }
    }
    if (reader.periodic) {
      const exporter = reader.periodic.exporter;
      const http = exporter.otlp_http;
      if (!http) {
        throw new OtelSettingsError(
          `${where}.periodic.exporter: only otlp_http is supported (found ${Object.keys(exporter).join(', ') || 'none'})`,
        );
      }
      const compression = http.compression ?? undefined;
      if (compression !== undefined && compression !== 'gzip' && compression !== 'none') {
        throw new OtelSettingsError(`${where}.periodic.exporter.otlp_http.compression: use gzip or none`);
      }
      const interval = reader.periodic.interval ?? 60_000;
      const temporality = http.temporality_preference ?? 'cumulative';
      otlp.push({
        protocol: http.encoding === 'json' ? 'http/json' : 'http/protobuf',
        url: http.endpoint ?? undefined,
        headers: mergeHeadersConfig(http.headers, http.headers_list),
        compression,
        timeoutMillis: http.timeout ?? undefined,
        temporality: temporality === 'low_memory' ? 'lowmemory' : temporality,
        histogram:
          http.default_histogram_aggregation === 'explicit_bucket_histogram' ? 'explicit' : 'exponential',
        tls: http.tls
          ? {
              ...(http.tls.ca_file ? { caFile: http.tls.ca_file } : {}),
              ...(http.tls.cert_file ? { certFile: http.tls.cert_file } : {}),
              ...(http.tls.key_file ? { keyFile: http.tls.key_file } : {}),
            }
          : undefined,
        intervalMillis: interval,
        exportTimeoutMillis: Math.min(reader.periodic.timeout || 30_000, interval),
      });
    }
  });
  const resourceAttributes: Attributes = {};
  for (const attr of mergeResourceAttributesConfig(
    model.resource?.attributes,
    model.resource?.attributes_list,
  ) ?? []) {
    if (attr.value !== null) resourceAttributes[attr.name] = attr.value;
  }
  return {
    disabled,
    prometheus,
    prometheusAddress,
    otlp: disabled ? [] : otlp,
    resourceAttributes,
    origin: `OTEL_CONFIG_FILE ${file}`,
  };
}

/**
 * Adds the cluster's identity to the resource (`k8s.cluster.name`, the semantic-convention
 * attribute), overriding OTEL_RESOURCE_ATTRIBUTES and the config file. On the push path it tells
 * two clusters' series apart in one backend (Prometheus: `promote_resource_attributes`); the pull
 * endpoint is left alone, as kube-state-metrics' is (Prometheus adds cluster labels by relabelling
 * or `external_labels`).
 */
export function withClusterName(settings: OtelSettings, clusterName: string | undefined): OtelSettings {
  if (clusterName === undefined) return settings;
  if (clusterName.trim() === '') throw new OtelSettingsError('--cluster-name: must not be empty');
  return {
    ...settings,
    resourceAttributes: { ...settings.resourceAttributes, 'k8s.cluster.name': clusterName },
  };
}
