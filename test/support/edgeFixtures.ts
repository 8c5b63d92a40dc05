/**
 * Label edge cases: `.`, `/`, `-`, a leading digit, a leading underscore, and two keys (`a.b`,
 * `a_b`) that collide once sanitised. The bridge sanitises label names when it compiles the config
 * (as kube-state-metrics does), so both paths start from the same names.
 */
export const EDGE_FAMILIES = `        - name: size_bytes
          help: size
          each: { type: Gauge, gauge: { path: [status, sizeBytes] } }
        - name: phase
          help: phase
          each: { type: StateSet, stateSet: { labelName: phase, path: [status, phase], list: [Completed, Failed] } }
`;
export const INFO_FAMILY = `        - name: info
          help: info
          each: { type: Info, info: { labelsFromPath: { target: [spec, target] } } }
`;
export function edgeConfig(families = EDGE_FAMILIES + INFO_FAMILY): string {
  return `kind: CustomResourceStateMetrics
spec:
  resources:
    - groupVersionKind: { group: backup.example.com, version: v1, kind: Backup }
      metricNamePrefix: edge
      labelsFromPath:
        name: [metadata, name]
        namespace: [metadata, namespace]
        app.kubernetes.io/name: [spec, app]
        team-name: [spec, team]
        1st: [spec, team]
        _private: [spec, team]
        a.b: [spec, app]
        a_b: [spec, team]
      metrics:
${families}`;
}

export function edgeObject(name: string, size: number, phase = 'Completed'): string {
  return `apiVersion: backup.example.com/v1
kind: Backup
metadata: { name: ${name}, namespace: default }
spec: { app: web-${name}, team: blue, target: "s3://bucket/${name}" }
status: { phase: ${phase}, sizeBytes: ${size} }
`;
}
