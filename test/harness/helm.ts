import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { findBinary, repoRoot } from './binaries.ts';
import { makePeerDir } from './processes.ts';

/** The chart in this repository. */
export const chartDir: string = path.join(repoRoot, 'charts', 'crd-metrics-bridge');

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

let helmHome: string | undefined;

/** Runs the real helm (from the peer cache) with private config/cache/data dirs; never throws on exit codes. */
export function helm(args: string[]): HelmResult {
  // helm writes repository caches and plugins under $HOME otherwise.
  helmHome ??= makePeerDir('helm-home');
  const result = spawnSync(findBinary('helm'), args, {
    encoding: 'utf8',
    env: {
      ...process.env,
      HELM_CACHE_HOME: path.join(helmHome, 'cache'),
      HELM_CONFIG_HOME: path.join(helmHome, 'config'),
      HELM_DATA_HOME: path.join(helmHome, 'data'),
    },
    maxBuffer: 64 << 20,
  });
  if (result.error) throw result.error;
  return { code: result.status ?? 128, stdout: result.stdout, stderr: result.stderr };
}

/** A rendered Kubernetes object, loosely typed: tests read the fields they assert on. */
export interface KubeManifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [field: string]: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  /** Paths of values files, in order. */
  values?: string[];
  /** --set-file name=path pairs. */
  setFiles?: Record<string, string>;
  set?: string[];
}

/** `helm template` of the chart; throws with helm's stderr on failure. */
export function helmTemplate(options: RenderOptions = {}): { text: string; objects: KubeManifest[] } {
  const args = [
    'template',
    options.release ?? 'crd-metrics-bridge',
    chartDir,
    '--namespace',
    options.namespace ?? 'monitoring',
    ...(options.values ?? []).flatMap((f) => ['--values', f]),
    ...Object.entries(options.setFiles ?? {}).flatMap(([k, f]) => ['--set-file', `${k}=${f}`]),
    ...(options.set ?? []).flatMap((s) => ['--set', s]),
  ];
  const r = helm(args);
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  const objects: KubeManifest[] = [];
  for (const doc of parseAllDocuments(r.stdout)) {
    if (doc.errors.length > 0)
      throw new Error(`helm template printed invalid YAML: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as KubeManifest | null;
    if (value) objects.push(value);
  }
  return { text: r.stdout, objects };
}

/** The one object of `kind` (and `name`, if given); throws unless there is exactly one. */
export function only(objects: readonly KubeManifest[], kind: string, name?: string): KubeManifest {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) {
    throw new Error(
      `expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`,
    );
  }
  return found[0]!;
}

/** The one Deployment or StatefulSet (the chart renders one of the two). */
export function workloadOf(objects: readonly KubeManifest[]): KubeManifest {
  const found = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
  if (found.length !== 1)
    throw new Error(
      `expected one Deployment or StatefulSet, found ${found.map((o) => o.metadata.name).join(', ')}`,
    );
  return found[0]!;
}

interface ContainerEnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}

/**
 * What the kubelet would run for a rendered container: its env with downward-API field references
 * resolved from `fields` (e.g. {'metadata.name': 'pod-0'}), and its args and env values with
 * `$(VAR)` expanded as Kubernetes does (args from the whole env, an env value from the entries
 * before it; `$$` is a literal `$`; an unknown variable stays as written).
 * Env entries from other sources (secretKeyRef, ...) are an error: the tests do not need them.
 */
export function containerCommandLine(
  rendered: unknown,
  fields: Record<string, string>,
): { args: string[]; env: Record<string, string> } {
  const container = rendered as { args?: string[]; env?: ContainerEnvVar[] };
  const env: Record<string, string> = {};
  const expand = (text: string): string =>
    text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (match, name: string | undefined) =>
      name === undefined ? '$' : (env[name] ?? match),
    );
  for (const entry of container.env ?? []) {
    // A value may refer to the entries before it, as in args.
    if (entry.value !== undefined) env[entry.name] = expand(entry.value);
    else if (entry.valueFrom?.fieldRef) {
      const value = fields[entry.valueFrom.fieldRef.fieldPath];
      if (value === undefined)
        throw new Error(`no value given for field ${entry.valueFrom.fieldRef.fieldPath}`);
      env[entry.name] = value;
    } else throw new Error(`env ${entry.name}: only value and fieldRef are supported here`);
  }
  return { args: (container.args ?? []).map(expand), env };
}
