import type { Attributes, Counter, Meter } from '@opentelemetry/api';
import type { ObjectErrorSummary } from '../engine/ObjectErrors.ts';
import type { IngestOutcome } from '../engine/store/ObjectIngestor.ts';
import type { SeriesCache } from '../engine/store/SeriesCache.ts';
import type { BudgetLedger } from '../engine/store/BudgetLedger.ts';
import { budgetsOf } from '../engine/store/ObjectIngestor.ts';
import { BUDGET_NAMES, limitKebab } from '../engine/limits.ts';
import type { CompiledConfig } from '../engine/generate/CompiledConfig.ts';
import type { Source, SourceTelemetry } from '../sources/Source.ts';
import { CounterTally } from './CounterTally.ts';

/** Scope of the bridge's own instruments, kept off the custom-resource endpoint. */
export const SELF_METRICS_SCOPE = 'crd-metrics-bridge';

const PREFIX = 'crd_metrics_bridge_';

/**
 * Object event outcomes a configured resource can have, each at 0 from the start so that a rate
 * or an increase sees the first event (a series that appears at 1 looks like no change).
 */
const RESOURCE_OUTCOMES: readonly IngestOutcome[] = [
  'upserted',
  'deleted',
  'unknown-delete',
  'failed',
  'limited',
  'superseded',
];
const WATCH_EVENT_TYPES = ['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR'];

export interface SelfMetricsBuild {
  readonly version: string;
  /** The git revision built from, `unknown` when not known (build_info's `revision`). */
  readonly revision: string;
  /** Running totals of OTLP export results (tallied by the exporters, which exist first). */
  readonly otlpExports: () => Readonly<Record<'success' | 'failure', number>>;
  /** Running totals of gzip scrapes by the state they were answered with (see GzipLookahead). */
  readonly gzipScrapes?: () => Readonly<Record<'current' | 'prepared', number>>;
}

export interface SelfMetricsState {
  readonly cache: () => SeriesCache | undefined;
  readonly config: () => CompiledConfig | undefined;
  readonly sources: () => readonly Source[];
  /** The serving generation's budgets across objects (undefined: all unlimited). @default none */
  readonly budgets?: () => BudgetLedger | undefined;
}

/**
 * The bridge's own telemetry, with ordinary SDK instruments: observable gauges read the cache at
 * collection time (they are low-cardinality: per resource, family or source), counters count
 * events and errors as they happen.
 */
export class SelfMetrics {
  private readonly _events: CounterTally;
  private readonly _objectErrors: Counter;
  private readonly _configReloads: Counter;
  private readonly _lists: Counter;
  private readonly _watches: Counter;
  private readonly _watchEvents: CounterTally;
  private readonly _restarts: Counter;
  private readonly _handlerErrors: Counter;
  private readonly _aggregateOverflow: Counter;
  private _config: { filename: string; ok: boolean; hash: number; successAt: number } | undefined;
  /** Resources and watch targets whose counters exist (at 0 until something happens). */
  private readonly _knownResources = new Set<string>();
  private readonly _knownTargets = new Set<string>();

  private readonly _meter: Meter;
  private _observing = false;

  constructor(meter: Meter, build: SelfMetricsBuild) {
    this._meter = meter;
    const prefix = PREFIX;
    this._events = new CounterTally(
      meter,
      `${prefix}object_events`,
      'Object events handled, by resource and outcome (upserted, deleted, unknown-delete, unmatched, failed, limited, superseded).',
      ['outcome', 'resource'],
    );
    this._objectErrors = meter.createCounter(`${prefix}object_errors`, {
      description:
        'Per-object problems (unconvertible value, CEL error, missing value...), by resource, metric and kind.',
    });
    meter
      .createObservableCounter(`${prefix}otlp_exports`, { description: 'OTLP export attempts by result.' })
      .addCallback((r) => {
        const results = build.otlpExports();
        r.observe(results.success, { result: 'success' });
        r.observe(results.failure, { result: 'failure' });
      });
    const gzipScrapes = build.gzipScrapes;
    if (gzipScrapes)
      meter
        .createObservableCounter(`${prefix}gzip_scrapes`, {
          description:
            'Gzip scrapes of the custom-resource endpoint, by the state they were answered with: current, or prepared ahead of the scrape (at most --web.gzip-max-staleness old).',
        })
        .addCallback((r) => {
          const counts = gzipScrapes();
          r.observe(counts.current, { state: 'current' });
          r.observe(counts.prepared, { state: 'prepared' });
        });
    this._aggregateOverflow = meter.createCounter(`${prefix}aggregate_overflow`, {
      description:
        'Shares of objects in aggregate groups beyond limits.aggregateGroups, folded into the otel_metric_overflow series, by family.',
    });
    this._configReloads = meter.createCounter(`${prefix}config_loads`, {
      description: 'Config loads (start and reloads: SIGHUP, file change, POST /-/reload) by result.',
    });
    for (const result of ['success', 'failure']) this._configReloads.add(0, { result });
    const config = () => this._config;
    meter
      .createObservableGauge(`${prefix}config_hash`, {
        description: 'Hash of the running config file (first 52 bits of its SHA-256).',
      })
      .addCallback((r) => {
        const c = config();
        if (c) r.observe(c.hash, { filename: c.filename });
      });
    meter
      .createObservableGauge(`${prefix}last_config_reload_successful`, {
        description: '1 if the last config load or reload succeeded.',
      })
      .addCallback((r) => {
        const c = config();
        if (c) r.observe(c.ok ? 1 : 0, { filename: c.filename });
      });
    meter
      .createObservableGauge(`${prefix}last_config_reload_success_timestamp_seconds`, {
        description: 'When the running config was loaded.',
        unit: 's',
      })
      .addCallback((r) => {
        const c = config();
        if (c && c.successAt > 0) r.observe(Math.floor(c.successAt), { filename: c.filename });
      });

    this._lists = meter.createCounter(`${prefix}list`, {
      description: 'List requests (all pages of one list) by target and result.',
    });
    this._watches = meter.createCounter(`${prefix}watch`, {
      description: 'Watch requests by target and result.',
    });
    this._watchEvents = new CounterTally(
      meter,
      `${prefix}watch_events`,
      'Watch events handled, by target and type (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR).',
      ['target', 'type'],
    );
    this._restarts = meter.createCounter(`${prefix}reflector_restarts`, {
      description:
        'List/watch restarts after an error, by target and reason (network, expired, forbidden, not-found, throttled, http-NNN).',
    });
    this._handlerErrors = meter.createCounter(`${prefix}handler_errors`, {
      description: 'Object handler failures (the watch goes on).',
    });
    meter
      .createObservableGauge(`${prefix}build_info`, { description: 'Build information; value 1.' })
      .addCallback((r) =>
        r.observe(1, { version: build.version, revision: build.revision, nodejs_version: process.version }),
      );
  }

  /**
   * Registers the gauges that read the running pipeline (cache, config, sources) at collection
   * time. Called once, after the pipeline exists.
   */
  observe(state: SelfMetricsState): void {
    if (this._observing) throw new Error('SelfMetrics.observe called twice');
    this._observing = true;
    for (const resource of state.config()?.resources ?? []) this._knowResource(resource.id);
    const meter = this._meter;
    const prefix = PREFIX;
    const targets = function* () {
      for (const source of state.sources()) yield* source.targets?.() ?? [];
    };
    meter
      .createObservableGauge(`${prefix}target_objects`, {
        description: 'Objects currently known per watched collection.',
      })
      .addCallback((r) => {
        for (const t of targets()) r.observe(t.objects, { target: t.id });
      });
    meter
      .createObservableGauge(`${prefix}target_synced`, {
        description: '1 once a watched collection has been listed.',
      })
      .addCallback((r) => {
        for (const t of targets()) r.observe(t.synced ? 1 : 0, { target: t.id, state: t.state });
      });
    meter
      .createObservableGauge(`${prefix}watch_presumed_dead`, {
        description:
          "1 while a collection's watch is presumed dead (silent past its deadline) and no new one is established; /readyz is 503 meanwhile.",
      })
      .addCallback((r) => {
        for (const t of targets()) r.observe(t.presumedDead ? 1 : 0, { target: t.id });
      });
    meter
      .createObservableGauge(`${prefix}last_sync_timestamp_seconds`, {
        description: 'When the last list of a collection completed.',
        unit: 's',
      })
      .addCallback((r) => {
        for (const t of targets())
          if (t.lastSyncAt > 0) r.observe(Math.floor(t.lastSyncAt / 1000), { target: t.id });
      });
    meter
      .createObservableGauge(`${prefix}seconds_since_last_activity`, {
        description:
          'Seconds since the last list, watch event, bookmark or watch ended by the API server of a collection (alert when it grows).',
        // No unit: the name does not end with `_seconds`, and OTLP-to-Prometheus translations
        // that add unit suffixes would rename it (…_last_activity_seconds) on the push path only.
      })
      .addCallback((r) => {
        const now = Date.now();
        for (const t of targets())
          if (t.lastActivityAt > 0) r.observe((now - t.lastActivityAt) / 1000, { target: t.id });
      });
    meter
      .createObservableGauge(`${prefix}cached_objects`, { description: 'Objects in the cache, by resource.' })
      .addCallback((r) => {
        const cache = state.cache();
        for (const resource of state.config()?.resources ?? []) {
          r.observe(
            cache?.objectsOf(resource.id) ?? 0,
            resourceAttributes(resource.id, resource.groupVersionKind),
          );
        }
      });
    meter
      .createObservableGauge(`${prefix}series`, {
        description: 'Series currently exposed, by metric family.',
      })
      .addCallback((r) => {
        const cache = state.cache();
        if (!cache) return;
        for (const family of cache.families) r.observe(cache.seriesCount(family), { family: family.name });
      });
    this._observeBudgets(state);
    meter
      .createObservableGauge(`${prefix}source_synced`, {
        description: '1 once a source has delivered its initial state.',
      })
      .addCallback((r) => {
        for (const source of state.sources()) r.observe(source.synced ? 1 : 0, { source: source.name });
      });
  }

  /**
   * The budgets across objects: what is in force, how much of the process budgets is used, and
   * which namespaces have objects held out by which budget (only those: the cut-offs themselves
   * are counted in object_errors with a `limit-*` kind).
   */
  private _observeBudgets(state: SelfMetricsState): void {
    const meter = this._meter;
    const limit = meter.createObservableGauge(`${PREFIX}budget_limit`, {
      description:
        'Budgets across objects in force (series, or bytes of sample lines), by budget: total-series, total-series-bytes, namespace-series, namespace-series-bytes; 0 = unlimited.',
    });
    const used = meter.createObservableGauge(`${PREFIX}budget_used`, {
      description: 'Use of the process budgets across objects, by budget (total-series, total-series-bytes).',
    });
    const dropped = meter.createObservableGauge(`${PREFIX}budget_dropped_objects`, {
      description:
        'Objects whose series are not served because a budget across objects is full, by their namespace (object_namespace) and budget; namespaces with none are absent.',
    });
    meter.addBatchObservableCallback(
      (r) => {
        const config = state.config();
        if (!config) return;
        const budgets = budgetsOf(config);
        for (const name of BUDGET_NAMES) r.observe(limit, budgets[name], { budget: limitKebab(name) });
        const ledger = state.budgets?.();
        r.observe(used, ledger?.series ?? 0, { budget: 'total-series' });
        r.observe(used, ledger?.bytes ?? 0, { budget: 'total-series-bytes' });
        if (!ledger) return;
        for (const [namespace, byBudget] of ledger.use().dropped)
          for (const [name, n] of byBudget)
            r.observe(dropped, n, { object_namespace: namespace, budget: limitKebab(name) });
      },
      [limit, used, dropped],
    );
  }

  /** Records a config load or reload (KSM's config_hash and last_config_reload_* metrics). */
  configLoaded(filename: string, ok: boolean, hash?: number): void {
    this._config = {
      filename,
      ok,
      hash: ok && hash !== undefined ? hash : (this._config?.hash ?? 0),
      successAt: ok ? Date.now() / 1000 : (this._config?.successAt ?? 0),
    };
    this._configReloads.add(1, { result: ok ? 'success' : 'failure' });
  }

  objectEvent(outcome: IngestOutcome, resourceId: string | undefined): void {
    // A resource a reload added: its counters start at 0 like those of the first config.
    if (resourceId !== undefined && !this._knownResources.has(resourceId)) this._knowResource(resourceId);
    this._events.add(outcome, resourceId ?? '');
  }

  /** One object's share of an aggregate group folded into the family's overflow series. */
  aggregateOverflow(family: string): void {
    this._aggregateOverflow.add(1, { family });
  }

  private _knowResource(resourceId: string): void {
    this._knownResources.add(resourceId);
    for (const outcome of RESOURCE_OUTCOMES) this._events.zero(outcome, resourceId);
  }

  /**
   * A watch target's counters at 0 from its first list or watch on: the error results, event
   * types and handler errors that alerts take a rate of. Restart reasons are open-ended
   * (`http-NNN`) and stay absent until they happen.
   */
  private _knowTarget(target: string): void {
    if (this._knownTargets.has(target)) return;
    this._knownTargets.add(target);
    for (const result of ['success', 'error']) {
      this._lists.add(0, { target, result });
      this._watches.add(0, { target, result });
    }
    for (const type of WATCH_EVENT_TYPES) this._watchEvents.zero(target, type);
    this._handlerErrors.add(0, { target });
  }

  /**
   * Counts one error occurrence; the first of each kind is also logged by the caller. Not
   * created at 0: resources × metrics × kinds would be hundreds of idle series.
   */
  objectError(summary: Pick<ObjectErrorSummary, 'resource' | 'metric' | 'kind'>): void {
    this._objectErrors.add(1, { resource: summary.resource, metric: summary.metric, kind: summary.kind });
  }

  /** Hooks for sources that list and watch. */
  get sourceTelemetry(): SourceTelemetry {
    return {
      list: (target, result) => {
        this._knowTarget(target);
        this._lists.add(1, { target, result });
      },
      watch: (target, result) => {
        this._knowTarget(target);
        this._watches.add(1, { target, result });
      },
      event: (target, type) => this._watchEvents.add(target, type),
      restart: (target, reason) => {
        this._knowTarget(target);
        this._restarts.add(1, { target, reason });
      },
      handlerError: (target) => {
        this._knowTarget(target);
        this._handlerErrors.add(1, { target });
      },
    };
  }
}

/** The state of `--web.config.file`, as the web config loader reports it. */
export interface WebConfigReloadState {
  readonly file: string;
  /** False while a changed file does not load (the last good one keeps serving). */
  readonly ok: boolean;
  /** When the running web config was loaded (Unix seconds). */
  readonly successAt: number;
}

/**
 * The web config file's reload state, next to the config file's own (`last_config_reload_*`):
 * a broken web config is ignored so that serving goes on, and this is where that shows.
 */
export function observeWebConfigReloads(meter: Meter, state: () => WebConfigReloadState): void {
  const successful = meter.createObservableGauge(`${PREFIX}web_config_last_reload_successful`, {
    description:
      '1 if the web config file (--web.config.file) loaded at its last change; 0 while a broken one is ignored and the last good one serves.',
  });
  const successAt = meter.createObservableGauge(`${PREFIX}web_config_last_reload_success_timestamp_seconds`, {
    description: 'When the running web config was loaded.',
    unit: 's',
  });
  meter.addBatchObservableCallback(
    (r) => {
      const s = state();
      r.observe(successful, s.ok ? 1 : 0, { filename: s.file });
      r.observe(successAt, Math.floor(s.successAt), { filename: s.file });
    },
    [successful, successAt],
  );
}

function resourceAttributes(id: string, gvk: { group: string; version: string; kind: string }): Attributes {
  return { resource: id, group: gvk.group, version: gvk.version || '*', kind: gvk.kind || '*' };
}
