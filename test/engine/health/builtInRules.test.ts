// Finding and reading the shipped rule files: from the checkout's src/, and from a layout like
// the installed package's flat dist/ (the npm package test runs the real installed one).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { repoRoot } from '../../harness/binaries.ts';
import {
  builtInHealthRules,
  builtInRulesDir,
  packageRoot,
  readRuleDocuments,
} from '../../../src/engine/health/builtInRules.ts';
import { HealthRules } from '../../../src/engine/health/HealthRules.ts';

describe('built-in rule files', () => {
  const work = mkdtempSync(join(tmpdir(), 'health-rules-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('are found at the package root from src/engine/health/', () => {
    assert.equal(packageRoot(), repoRoot);
    assert.equal(builtInRulesDir(), join(repoRoot, 'rules', 'health'));
  });

  it("are found from a flat dist/ inside someone else's project, skipping other package.json files", () => {
    // node_modules/crd-metrics-bridge/dist/chunk.js, inside a consumer with its own package.json.
    const pkg = join(work, 'consumer', 'node_modules', 'crd-metrics-bridge');
    mkdirSync(join(pkg, 'dist'), { recursive: true });
    writeFileSync(join(work, 'consumer', 'package.json'), JSON.stringify({ name: 'consumer' }));
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'crd-metrics-bridge' }));
    assert.equal(packageRoot(join(pkg, 'dist', 'chunk-ABC.js')), pkg);
    assert.equal(packageRoot(join(work, 'consumer', 'index.js')), undefined);
  });

  it('a rules directory without the generic rules is an error, not every object unknown', () => {
    const pkg = join(work, 'emptied');
    mkdirSync(join(pkg, 'rules', 'health'), { recursive: true });
    assert.throws(() => builtInRulesDir(pkg), /health rules incomplete: no generic\.yaml in .*emptied/);
    assert.throws(() => builtInRulesDir(join(work, 'nothing')), /health rules not found: no rules/);
  });

  it('every file compiles, names its sources, and one generic file holds the every-kind rules', () => {
    const docs = readRuleDocuments(builtInRulesDir());
    assert.ok(docs.some((d) => d.file.endsWith('generic.yaml')));
    for (const doc of docs) {
      assert.match(doc.text, /^# .*\n(#.*\n)*/, `${doc.file} starts with a comment`);
      assert.match(
        doc.text,
        /https:\/\/|github\.com|\w+\/\w+\/.*\.(lua|go)/,
        `${doc.file} says where its rules come from`,
      );
      const sets = HealthRules.fromDocuments([doc]).chainFor('no.such.group', 'Nothing');
      if (!doc.file.endsWith('generic.yaml'))
        assert.deepEqual(sets, [], `${doc.file} has only per-kind rule sets`);
    }
    const rules = builtInHealthRules();
    assert.deepEqual(
      rules.chainFor('no.such.group', 'Nothing').map((s) => `${s.place}:${s.name}`),
      ['first:generic', 'last:generic'],
    );
    assert.equal(builtInHealthRules(), rules, 'compiled once');
  });
});
