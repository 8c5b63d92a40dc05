import { accessSync, constants, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/** Root of the repository, for files the peers read (e.g. otel-config/). */
export const repoRoot: string = path.resolve(import.meta.dirname, '..', '..');

// envtest's convention: one directory holding these three; a developer who
// already has envtest assets should not need to build Kubernetes.
const KUBEBUILDER_BINARIES: ReadonlySet<string> = new Set(['etcd', 'kube-apiserver', 'kubectl']);

export function cacheDir(): string {
  return process.env['CRD_BRIDGE_CACHE'] || path.join(homedir(), '.cache', 'crd-metrics-bridge');
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Places searched for `name`, in order of preference. */
export function binaryCandidates(name: string): string[] {
  const candidates: string[] = [];
  const assets = process.env['KUBEBUILDER_ASSETS'];
  if (assets && KUBEBUILDER_BINARIES.has(name)) candidates.push(path.join(assets, name));
  candidates.push(path.join(cacheDir(), 'bin', name));
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (dir) candidates.push(path.join(dir, name));
  }
  return candidates;
}

/**
 * Absolute path of a peer binary. Throws with instructions instead of letting
 * a spawn fail with a bare ENOENT, which says nothing about how to fix it.
 */
export function findBinary(name: string): string {
  const candidates = binaryCandidates(name);
  const found = candidates.find(isExecutableFile);
  if (found) return found;
  const searched = [
    KUBEBUILDER_BINARIES.has(name)
      ? `$KUBEBUILDER_ASSETS (${process.env['KUBEBUILDER_ASSETS'] ?? 'unset'})`
      : '',
    path.join(cacheDir(), 'bin'),
    '$PATH',
  ].filter(Boolean);
  throw new Error(
    `Test peer binary "${name}" not found (searched ${searched.join(', ')}). ` +
      `Run \`bash scripts/peers/install.sh\` from the repository root to install or build it.`,
  );
}
