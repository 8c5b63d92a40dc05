import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { repoRoot } from '../harness/binaries.ts';
import { runCommand } from '../support/installedBridge.ts';
import { registryNode } from './nodeRuntimes.ts';

// The system's Node (outside node_modules/.bin), when the launcher does not accept it, as a user's would be.
const systemNode = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => existsSync(p));
const systemMajor = systemNode
  ? Number(execFileSync(systemNode, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }))
  : undefined;
const launcher = join(repoRoot, 'bin', 'crd-metrics-bridge.js');
const checkNode = join(repoRoot, 'scripts', 'check-node.js');
const NEEDS =
  /^crd-metrics-bridge needs Node\.js 24 or later, or 22\.19 or a later 22\.x, but this is Node v\d+\./;

describe('launcher', () => {
  it(
    'stops on a Node it does not support with a message saying what to do, and no stack trace; so does check-node',
    { skip: systemMajor !== undefined && systemMajor < 22 ? false : 'no Node older than 22 on this machine' },
    async () => {
      const r = await runCommand(systemNode!, [launcher, '--version']);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, NEEDS);
      // What to do about it: the README's npx command, or the image.
      assert.match(
        r.stderr,
        /\n {2}npx --yes -p node@24 -p crd-metrics-bridge -- crd-metrics-bridge --help\n/,
      );
      assert.doesNotMatch(r.stderr, /\n\s+at /);
      // The npm scripts' guard applies the same rule.
      const guard = await runCommand(systemNode!, [checkNode]);
      assert.equal(guard.code, 1);
      assert.match(guard.stderr, NEEDS);
    },
  );

  it('runs on Node 22.19.0, the oldest release it accepts, as does check-node', async () => {
    const node = join((await registryNode('22.19.0', 'Node 22.19.0')).binDir, 'node');
    const r = await runCommand(node, [launcher, '--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^crd-metrics-bridge \S+ \(revision \S+, node v22\.19\.0,/);
    const guard = await runCommand(node, [checkNode]);
    assert.equal(guard.code, 0, guard.stderr);
    assert.equal(guard.stderr, '');
  });
});
