import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { repoRoot } from '../harness/binaries.ts';
import { runCommand } from '../support/installedBridge.ts';

// The system's Node (outside node_modules/.bin), when it is older than 24, as a user's would be.
const systemNode = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => existsSync(p));
const systemMajor = systemNode
  ? Number(execFileSync(systemNode, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }))
  : undefined;

describe('launcher', () => {
  it(
    'stops on a Node older than 24 with one clear message and no stack trace',
    { skip: systemMajor !== undefined && systemMajor < 24 ? false : 'no Node older than 24 on this machine' },
    async () => {
      const r = await runCommand(systemNode!, [join(repoRoot, 'bin', 'crd-metrics-bridge.js'), '--version']);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^crd-metrics-bridge needs Node\.js 24 or later, but this is Node v\d+\./);
      assert.match(r.stderr, /Install Node\.js 24 LTS/);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    },
  );
});
