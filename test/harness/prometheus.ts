import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { findBinary } from './binaries.ts';
import { freePort } from './ports.ts';
import { httpRequest, makePeerDir, removePeerDir, startProcess } from './processes.ts';

export interface PrometheusOptions {
  /** host:port pairs scraped by the job `jobName`. */
  scrapeTargets: string[];
  /** Default '1s', so tests see new samples quickly. */
  scrapeInterval?: string;
  /** Default '/metrics'. */
  metricsPath?: string;
  /**
   * Prometheus' scrape_protocols, e.g. ['PrometheusText0.0.4'] or
   * ['OpenMetricsText1.0.0']. Needs Prometheus >= 2.49; without it Prometheus
   * negotiates OpenMetrics first.
   */
  scrapeProtocols?: string[];
  /** Extra keys for the target job: scheme, tls_config, basic_auth, authorization... */
  scrapeConfig?: Record<string, unknown>;
  /** Default 'targets'; becomes the `job` label. */
  jobName?: string;
  /** `honor_labels` of that job (as deploy/ and the chart set it). Default false. */
  honorLabels?: boolean;
  /** More scrape jobs, e.g. the same target once per exposition format. */
  extraJobs?: ScrapeJob[];
  /**
   * Turns on the OTLP receiver (`--web.enable-otlp-receiver`, POST `${url}/api/v1/otlp/v1/metrics`)
   * with this `otlp:` configuration block (e.g. translation_strategy, promote_resource_attributes).
   */
  otlp?: Record<string, unknown>;
  /** Turns on the remote-write receiver (`--web.enable-remote-write-receiver`, POST `${url}/api/v1/write`). */
  remoteWriteReceiver?: boolean;
  /** Listen on this port (e.g. reserved with freePort() for a bridge that pushes here). */
  port?: number;
  startTimeoutMs?: number;
}

export interface ScrapeJob {
  jobName: string;
  targets: string[];
  scrapeProtocols?: string[];
  honorLabels?: boolean;
  metricsPath?: string;
}

export interface VectorSample {
  metric: Record<string, string>;
  /** [unix seconds, value as Prometheus prints it] */
  value: [number, string];
}

export interface PrometheusHandle {
  /** http://127.0.0.1:port */
  readonly url: string;
  /** Full URL of the OTLP metrics receiver (with `otlp`). */
  readonly otlpMetricsUrl: string;
  /** Full URL of the remote-write receiver (with `remoteWriteReceiver`). */
  readonly remoteWriteUrl: string;
  readonly configFile: string;
  readonly logFile: string;
  /** Instant query; throws unless the result is a vector. */
  query(promql: string): Promise<VectorSample[]>;
  /** Polls `query` until `predicate` accepts the result (default: non-empty). */
  waitForSeries(
    promql: string,
    predicate?: (samples: VectorSample[]) => boolean,
    timeoutMs?: number,
  ): Promise<VectorSample[]>;
  stop(): Promise<void>;
}

interface QueryResponse {
  status: 'success' | 'error';
  error?: string;
  errorType?: string;
  data?: { resultType: string; result: unknown };
}

export function prometheusVersion(binary: string = findBinary('prometheus')): string {
  const out = execFileSync(binary, ['--version'], { encoding: 'utf8' });
  return /version (\d+\.\d+\.\d+)/.exec(out)?.[1] ?? 'unknown';
}

function atLeast(version: string, major: number, minor: number): boolean {
  const [maj = 0, min = 0] = version.split('.').map(Number);
  return maj > major || (maj === major && min >= minor);
}

export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusHandle> {
  const binary = findBinary('prometheus');
  const wantsProtocols =
    options.scrapeProtocols !== undefined || (options.extraJobs ?? []).some((j) => j.scrapeProtocols);
  const needs3 = options.otlp !== undefined || options.remoteWriteReceiver === true;
  if (needs3 && !atLeast(prometheusVersion(binary), 3, 0)) {
    throw new Error(
      `the OTLP and remote-write receivers need Prometheus 3, but ${binary} is ${prometheusVersion(binary)}. ` +
        'Run `bash scripts/peers/install.sh` (it builds Prometheus 3 by default).',
    );
  }
  if (wantsProtocols) {
    // Older versions reject the whole config with a terse "field not found";
    // say what is actually wrong instead.
    const version = prometheusVersion(binary);
    if (!atLeast(version, 2, 49)) {
      throw new Error(
        `scrapeProtocols needs Prometheus >= 2.49, but ${binary} is ${version}. ` +
          `Put a newer prometheus first in $PATH or in ${path.join('$CRD_BRIDGE_CACHE', 'bin')}.`,
      );
    }
  }
  const dir = makePeerDir('prometheus');
  try {
    const port = options.port ?? (await freePort());
    const address = `127.0.0.1:${port}`;
    const interval = options.scrapeInterval ?? '1s';
    const scrapeConfigs: Record<string, unknown>[] = [
      // Prometheus scraping itself makes `up` non-empty even without targets.
      { job_name: 'prometheus', static_configs: [{ targets: [address] }] },
    ];
    if (options.scrapeTargets.length > 0) {
      scrapeConfigs.push({
        job_name: options.jobName ?? 'targets',
        metrics_path: options.metricsPath ?? '/metrics',
        static_configs: [{ targets: options.scrapeTargets }],
        ...(options.scrapeProtocols ? { scrape_protocols: options.scrapeProtocols } : {}),
        ...(options.honorLabels ? { honor_labels: true } : {}),
        ...options.scrapeConfig,
      });
    }
    for (const job of options.extraJobs ?? []) {
      scrapeConfigs.push({
        job_name: job.jobName,
        metrics_path: job.metricsPath ?? '/metrics',
        static_configs: [{ targets: job.targets }],
        ...(job.scrapeProtocols ? { scrape_protocols: job.scrapeProtocols } : {}),
        ...(job.honorLabels ? { honor_labels: true } : {}),
      });
    }
    // JSON is valid YAML, so no YAML writer is needed. The timeout must not
    // exceed the interval, and the 10s default would with a 1s interval.
    const config = {
      global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
      scrape_configs: scrapeConfigs,
      ...(options.otlp ? { otlp: options.otlp } : {}),
    };
    const configFile = path.join(dir, 'prometheus.yml');
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    const url = `http://${address}`;
    const proc = await startProcess({
      name: 'prometheus',
      command: binary,
      args: [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=${address}`,
        '--storage.tsdb.retention.time=1h',
        '--log.level=info',
        ...(options.otlp ? ['--web.enable-otlp-receiver'] : []),
        ...(options.remoteWriteReceiver ? ['--web.enable-remote-write-receiver'] : []),
      ],
      cwd: dir,
      logDir: dir,
      ready: { url: `${url}/-/ready` },
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
    });

    const query = async (promql: string): Promise<VectorSample[]> => {
      const response = await httpRequest(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      let parsed: QueryResponse;
      try {
        parsed = JSON.parse(response.body) as QueryResponse;
      } catch {
        throw new Error(
          `Prometheus answered ${response.status} with non-JSON: ${response.body.slice(0, 300)}`,
        );
      }
      if (parsed.status !== 'success' || !parsed.data) {
        throw new Error(`query ${promql} failed: ${parsed.errorType ?? ''} ${parsed.error ?? response.body}`);
      }
      if (parsed.data.resultType !== 'vector') {
        throw new Error(`query ${promql} returned a ${parsed.data.resultType}, not a vector`);
      }
      return parsed.data.result as VectorSample[];
    };

    const waitForSeries = async (
      promql: string,
      predicate: (samples: VectorSample[]) => boolean = (samples) => samples.length > 0,
      timeoutMs = 15_000,
    ): Promise<VectorSample[]> => {
      const deadline = Date.now() + timeoutMs;
      let last: VectorSample[] | string = 'no query made';
      while (true) {
        try {
          const samples = await query(promql);
          if (predicate(samples)) return samples;
          last = samples;
        } catch (error) {
          // A bad query stays bad: fail now rather than after the timeout.
          if ((error as Error).message.includes('bad_data')) throw error;
          last = (error as Error).message;
        }
        if (Date.now() > deadline) {
          throw new Error(
            `waitForSeries(${promql}) timed out after ${timeoutMs}ms; last result: ${JSON.stringify(last)}\n` +
              `--- last lines of ${proc.logFile} ---\n${proc.logTail(20)}`,
          );
        }
        await delay(250);
      }
    };

    return {
      url,
      otlpMetricsUrl: `${url}/api/v1/otlp/v1/metrics`,
      remoteWriteUrl: `${url}/api/v1/write`,
      configFile,
      logFile: proc.logFile,
      query,
      waitForSeries,
      stop: async () => {
        await proc.stop();
        removePeerDir(dir);
      },
    };
  } catch (error) {
    // The dir holds the log quoted in the error; keep it only when asked.
    removePeerDir(dir);
    throw error;
  }
}
