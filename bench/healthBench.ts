// Health and conditions at scale: Foos in 50 namespaces with a plain per-object config (a phase
// gauge and a replicas gauge) as the reference, the same config plus the condition families a
// team writes by hand today, and plus `health: {}` and `conditions: {}` instead (the generic
// rules: every object's Ready condition decides). The updates flip
// Ready between True and False with a new lastTransitionTime, so every update is a transition.
// Usage: node --expose-gc bench/healthBench.ts [objects]
import { compareConfigs, runConfig } from './configComparison.ts';

const NAMESPACES = 50;
const UPDATES = Number(process.env.BENCH_HEALTH_UPDATES ?? 20_000);
const PLAIN = `spec:
  resources:
    - groupVersionKind: { group: bench.example.com, version: v1, kind: Foo }
      labelsFromPath:
        namespace: [metadata, namespace]
        name: [metadata, name]
      metrics:
        - name: foo_phase
          help: Phase of each Foo.
          labelsFromPath: { phase: [status, phase] }
          each: { type: Gauge, gauge: { valueExpression: '1' } }
        - name: foo_replicas
          help: spec.replicas of each Foo.
          each: { type: Gauge, gauge: { path: [spec], valueFrom: [replicas] } }
`;
// What a team writes by hand today for the same question (Flux's KSM config, per kind): every
// condition as a state set, and its lastTransitionTime.
const HAND_WRITTEN_CONDITIONS = `        - name: foo_status_condition
          help: Each condition of each Foo.
          each:
            type: StateSet
            stateSet:
              path: [status, conditions]
              labelsFromPath: { type: [type] }
              labelName: status
              valueFrom: [status]
              list: ['True', 'False', 'Unknown']
        - name: foo_status_condition_last_transition_time
          help: lastTransitionTime of each condition of each Foo.
          each:
            type: Gauge
            gauge:
              path: [status, conditions]
              labelsFromPath: { type: [type] }
              valueFrom: [lastTransitionTime]
`;
const CONFIGS: Record<string, string> = {
  plain: PLAIN,
  'plain + hand-written conditions': PLAIN + HAND_WRITTEN_CONDITIONS,
  'health + conditions': PLAIN.replace(
    '      metrics:\n',
    '      health: {}\n      conditions: {}\n      metrics:\n',
  ),
};

const BASE = Date.parse('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(BASE + seconds * 1000).toISOString().replace('.000Z', 'Z');

function foo(i: number, version: number): Record<string, unknown> {
  const ready = (i + version) % 2 === 0;
  return {
    apiVersion: 'bench.example.com/v1',
    kind: 'Foo',
    metadata: {
      name: `foo-${i}`,
      namespace: `ns-${i % NAMESPACES}`,
      uid: `uid-${i}`,
      generation: 1,
      creationTimestamp: at(0),
    },
    spec: { replicas: (i + version) % 7 },
    status: {
      phase: ready ? 'Running' : 'Pending',
      observedGeneration: 1,
      conditions: [
        {
          type: 'Ready',
          status: ready ? 'True' : 'False',
          reason: ready ? 'Succeeded' : 'Progressing',
          lastTransitionTime: at(60 + version),
        },
        { type: 'Synced', status: 'True', reason: 'ReconcileSuccess', lastTransitionTime: at(30) },
      ],
    },
  };
}

/** Both configs, each twice in fresh processes, alternating; prints a table with the ratios. */
export function healthSection(objects = Number(process.env.BENCH_HEALTH_OBJECTS ?? 100_000)): void {
  compareConfigs({
    title: `Health and conditions: ${objects.toLocaleString('en')} Foos in ${NAMESPACES} namespaces, ${UPDATES.toLocaleString('en')} updates that each flip Ready`,
    moduleFile: import.meta.filename,
    configs: Object.keys(CONFIGS),
    reference: 'plain',
    objects,
  });
}

if (import.meta.main) {
  if (process.argv[2] === 'child') {
    const name = process.argv[3]!;
    process.stdout.write(
      JSON.stringify(await runConfig(name, CONFIGS[name]!, foo, Number(process.argv[4]), UPDATES)),
    );
    process.exit(0);
  }
  healthSection(process.argv[2] ? Number(process.argv[2]) : undefined);
}
