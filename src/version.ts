import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * The bridge's version. package.json is the one place it is written (`npm version` bumps it); this
 * module reads it next to `src/` or `dist/`, which both sit beside package.json.
 */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/**
 * The git revision the bridge was built from: `dist/build-info.json`, written by `npm run build`
 * (scripts/build.js), or, when running from a checkout's sources, `git rev-parse`; `unknown` if
 * neither is available (e.g. a tarball without build info).
 */
export function gitRevision(): string {
  try {
    const info = JSON.parse(readFileSync(new URL('./build-info.json', import.meta.url), 'utf8')) as {
      revision?: unknown;
    };
    if (typeof info.revision === 'string' && info.revision !== '') return info.revision;
  } catch {
    // No build info: running from sources.
  }
  // Only a checkout's sources ask git: an installed dist/ may sit inside someone else's repository.
  if (!import.meta.url.endsWith('/src/version.ts')) return 'unknown';
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: new URL('.', import.meta.url),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

/** The `--version` line: version, revision and the Node.js running it. */
export function versionLine(): string {
  return `crd-metrics-bridge ${VERSION} (revision ${gitRevision()}, node ${process.version}, ${process.platform}/${process.arch})`;
}
