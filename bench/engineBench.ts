import { parseConfig } from '../src/config/loadConfig.ts';
import { compileConfig } from '../src/engine/compile/compileConfig.ts';
import type { CompiledConfig } from '../src/engine/generate/CompiledConfig.ts';
import { ObjectErrors } from '../src/engine/ObjectErrors.ts';
import { readFileSync } from 'node:fs';

/** Three path-only gauges over a Backup object: the "three-metric path config". */
export const PATH_CONFIG = `
spec:
  resources:
    - groupVersionKind: { group: backup.example.com, version: v1, kind: Backup }
      metricNamePrefix: ""
      customResourceLabels: false
      labelsFromPath:
        namespace: [metadata, namespace]
        name: [metadata, name]
        target: [spec, target]
      metrics:
        - name: backup_phase_completed
          help: phase is Completed
          each: { type: Gauge, gauge: { path: [status, completed] } }
        - name: backup_size_bytes
          help: size
          each: { type: Gauge, gauge: { path: [status, sizeBytes] } }
        - name: backup_end_timestamp_seconds
          help: end time
          each: { type: Gauge, gauge: { path: [status, endTime] } }
`;

/** Same metrics with CEL values. */
export const CEL_CONFIG = `
spec:
  resources:
    - groupVersionKind: { group: backup.example.com, version: v1, kind: Backup }
      metricNamePrefix: ""
      customResourceLabels: false
      labelsFromPath:
        namespace: [metadata, namespace]
        name: [metadata, name]
        target: [spec, target]
      metrics:
        - name: backup_status
          help: status
          each: { type: Gauge, gauge: { valueExpression: 'object.status.phase == "Completed" ? 1 : 0' } }
        - name: backup_size_bytes
          help: size
          each: { type: Gauge, gauge: { valueExpression: 'object.status.sizeBytes' } }
        - name: backup_duration_seconds
          help: duration
          each: { type: Gauge, gauge: { valueExpression: 'timestamp(object.status.endTime) - timestamp(object.status.startTime)' } }
`;

export function backupObject(i: number): Record<string, unknown> {
  return {
    apiVersion: 'backup.example.com/v1',
    kind: 'Backup',
    metadata: {
      name: `backup-${i}`,
      namespace: `ns-${i % 50}`,
      uid: `uid-${i}`,
      resourceVersion: String(1000 + i),
    },
    spec: { target: `s3://bucket-${i % 10}/path` },
    status: {
      phase: i % 7 === 0 ? 'Failed' : 'Completed',
      completed: i % 7 !== 0,
      sizeBytes: 1048576 + i,
      startTime: '2026-02-09T10:00:00Z',
      endTime: '2026-02-09T10:05:00Z',
    },
  };
}

export function compileText(text: string): CompiledConfig {
  return compileConfig(parseConfig(text, 'bench.yaml'));
}

export function compileFile(file: string): CompiledConfig {
  return compileText(readFileSync(file, 'utf8'));
}

export interface EngineResult {
  readonly name: string;
  readonly objects: number;
  readonly seriesPerObject: number;
  readonly objectsPerSecond: number;
  readonly seriesPerSecond: number;
}

/** Computes series for `objects` once to warm up, then times `rounds` passes; returns the median pass. */
export function benchEngine(
  name: string,
  config: CompiledConfig,
  objects: readonly Record<string, unknown>[],
  rounds = 5,
): EngineResult {
  const resource = config.resources[0]!;
  const errors = new ObjectErrors();
  const ref = { namespace: undefined, name: undefined };
  let series = 0;
  const pass = () => {
    series = 0;
    const start = process.hrtime.bigint();
    for (const object of objects) {
      const out = resource.computeSeries(object, 'v1', object.kind as string, errors, ref);
      for (const block of out) series += block && 'points' in block ? block.points.length : 0;
    }
    return Number(process.hrtime.bigint() - start) / 1e9;
  };
  pass();
  const times = Array.from({ length: rounds }, pass).sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  return {
    name,
    objects: objects.length,
    seriesPerObject: series / objects.length,
    objectsPerSecond: objects.length / median,
    seriesPerSecond: series / median,
  };
}
