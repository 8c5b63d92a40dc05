import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import { AggregationType } from '@opentelemetry/sdk-metrics';
import type {
  AggregationOption,
  AggregationTemporality,
  InstrumentType,
  PushMetricExporter,
  ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { Logger } from 'pino';

export interface ExportObserver {
  onExport(result: 'success' | 'failure'): void;
}

/**
 * Wraps the OTLP exporter to count results and log state changes only: one line when exports
 * start failing (with the cause), one when they recover, never one per retry or per interval.
 * The wrapped exporter already retries with backoff within its timeout; the periodic reader tries
 * again on the next interval, so a Collector that comes back is picked up by itself.
 */
export class ObservedMetricExporter implements PushMetricExporter {
  private readonly _inner: PushMetricExporter;
  private readonly _logger: Logger;
  private readonly _observer: ExportObserver;
  private readonly _target: string;
  private _failingSince: number | undefined;
  private _failures = 0;

  constructor(inner: PushMetricExporter, target: string, logger: Logger, observer: ExportObserver) {
    this._inner = inner;
    this._target = target;
    this._logger = logger;
    this._observer = observer;
  }

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    this._inner.export(metrics, (result) => {
      if (result.code === ExportResultCode.SUCCESS) {
        this._observer.onExport('success');
        if (this._failingSince !== undefined) {
          this._logger.info(
            {
              target: this._target,
              failedExports: this._failures,
              downForSeconds: Math.round((Date.now() - this._failingSince) / 1000),
            },
            'OTLP export recovered',
          );
          this._failingSince = undefined;
          this._failures = 0;
        }
      } else {
        this._observer.onExport('failure');
        this._failures++;
        if (this._failingSince === undefined) {
          this._failingSince = Date.now();
          this._logger.warn(
            { target: this._target, err: result.error },
            'OTLP export failing; will keep retrying every interval (metrics stay available on the Prometheus endpoint)',
          );
        }
      }
      resultCallback(result);
    });
  }

  forceFlush(): Promise<void> {
    return this._inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this._inner.shutdown();
  }

  selectAggregation(instrumentType: InstrumentType): AggregationOption {
    return this._inner.selectAggregation?.(instrumentType) ?? { type: AggregationType.DEFAULT };
  }

  selectAggregationTemporality(instrumentType: InstrumentType): AggregationTemporality {
    return this._inner.selectAggregationTemporality!(instrumentType);
  }
}
