import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, repoRoot } from '../harness/binaries.ts';
import { runCommand } from '../support/installedBridge.ts';

/** A Node.js the package is installed and run on. */
export interface NodeRuntime {
  readonly label: string;
  /** Exact version, as `node --version` prints it without the v. */
  readonly version: string;
  /** Directory holding its `node`, put first on PATH so the bin's `#!/usr/bin/env node` finds it. */
  readonly binDir: string;
}

/** The Node 24 this checkout runs on (the `node` devDependency). */
export function checkoutNode(): NodeRuntime {
  return {
    label: "this checkout's Node 24",
    version: process.versions.node,
    binDir: join(repoRoot, 'node_modules', '.bin'),
  };
}

/**
 * Node.js `version` from the npm registry (the `node-linux-<arch>` package the `node` package
 * installs), cached under the peers' cache directory.
 */
export async function registryNode(version: string, label: string): Promise<NodeRuntime> {
  const arch = ({ x64: 'x64', arm64: 'arm64' } as Record<string, string>)[process.arch];
  if (!arch || process.platform !== 'linux')
    throw new Error(`no Node.js package for ${process.platform}/${process.arch}`);
  const dir = join(cacheDir(), 'node', `${version}-linux-${arch}`);
  const binDir = join(dir, 'bin');
  if (!existsSync(join(binDir, 'node'))) {
    mkdirSync(join(cacheDir(), 'node'), { recursive: true });
    const scratch = mkdtempSync(join(cacheDir(), 'node', '.fetch-'));
    try {
      const pack = await runCommand(
        'npm',
        ['pack', '--silent', '--prefer-offline', `node-linux-${arch}@${version}`],
        { cwd: scratch, timeoutMs: 300_000 },
      );
      if (pack.code !== 0) throw new Error(`npm pack node-linux-${arch}@${version}: ${pack.stderr}`);
      const tgz = join(scratch, pack.stdout.trim());
      execFileSync('tar', ['-xzf', tgz, '-C', scratch, 'package/bin/node']);
      chmodSync(join(scratch, 'package', 'bin', 'node'), 0o755);
      rmSync(dir, { recursive: true, force: true });
      renameSync(join(scratch, 'package'), dir);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  return { label, version, binDir };
}

/** npm's own entry point (npm-cli.js), to run npm on a chosen Node. */
export function npmCli(): string {
  const npm = execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim();
  return realpathSync(npm);
}
