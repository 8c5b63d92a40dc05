// The built-in rules of every ecosystem (rules/health/*.yaml) on objects written for these tests
// (test/engine/health/cases/*.yaml), in the field shapes each project documents. Every kind a rule
// set names has a case, and every state a set can give is reached by one of its cases.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  builtInHealthRules,
  builtInRulesDir,
  readRuleDocuments,
} from '../../../src/engine/health/builtInRules.ts';
import { HealthRules } from '../../../src/engine/health/HealthRules.ts';
import { isHealthState } from '../../../src/engine/health/HealthVerdict.ts';
import type { HealthState } from '../../../src/engine/health/HealthVerdict.ts';
import type { CompiledRuleSet } from '../../../src/engine/health/ruleDocument.ts';

interface Case {
  readonly file: string;
  /** 1-based, within its file. */
  readonly index: number;
  readonly apiVersion: string;
  readonly kind: string;
  readonly expect: string;
  /** The deciding rule, `set#rule`, when the case pins it. */
  readonly rule?: string;
  readonly metadata?: object;
  readonly spec?: object;
  readonly status?: unknown;
  readonly [field: string]: unknown;
}

const casesDir = join(import.meta.dirname, 'cases');
const cases: Case[] = readdirSync(casesDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .flatMap((file) =>
    ((parse(readFileSync(join(casesDir, file), 'utf8')) as { cases?: Omit<Case, 'file'>[] }).cases ?? []).map(
      (c, index): Case => ({ ...c, file, index: index + 1 }) as Case,
    ),
  );

const rules = builtInHealthRules();
const groupOf = (apiVersion: string) =>
  apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
const CASE_KEYS = new Set(['file', 'index', 'expect', 'rule']);
const objectOf = (c: Case) => {
  const object = Object.fromEntries(Object.entries(c).filter(([k]) => !CASE_KEYS.has(k)));
  return { ...object, metadata: { name: 'test', namespace: 'default', ...c.metadata } };
};
const label = (c: Case) => `${c.file} #${c.index} ${c.kind} → ${c.expect}`;

describe('built-in rules on written objects', () => {
  it('give each case its expected state (and rule, where pinned)', () => {
    assert.ok(cases.length > 0);
    const failures: string[] = [];
    cases.forEach((c) => {
      assert.ok(isHealthState(c.expect), `${label(c)}: expect is a state`);
      const v = rules.verdict(objectOf(c), groupOf(c.apiVersion), c.kind);
      if (v.state !== c.expect || (c.rule !== undefined && v.rule !== c.rule))
        failures.push(`${label(c)}: got ${v.state} by ${v.rule} (${v.reason})`);
    });
    assert.deepEqual(failures, []);
  });

  it('cover every kind each rule set names, and every state each set gives', () => {
    const missing: string[] = [];
    for (const doc of readRuleDocuments(builtInRulesDir())) {
      if (doc.file.endsWith('generic.yaml')) continue;
      const sets = setsOf(doc);
      for (const set of sets) {
        const mine = cases.filter((c) => {
          const chain = rules.chainFor(groupOf(c.apiVersion), c.kind);
          return chain.some((s) => s.name === set.name && s.source === set.source);
        });
        for (const pattern of set.kinds) {
          const concrete = pattern.group.includes('*') || pattern.kind === '*';
          const found = mine.some(
            (c) => concrete || (groupOf(c.apiVersion) === pattern.group && c.kind === pattern.kind),
          );
          if (!found) missing.push(`${doc.file}: no case for ${pattern.group}/${pattern.kind}`);
        }
        const reached = new Set(
          mine
            .map((c) => rules.verdict(objectOf(c), groupOf(c.apiVersion), c.kind))
            .filter((v) => v.rule.startsWith(`${set.name}#`))
            .map((v) => v.state),
        );
        for (const state of statesOf(set))
          if (!reached.has(state)) missing.push(`${doc.file}: ${set.name} never gives ${state} in the cases`);
      }
    }
    assert.deepEqual(missing, []);
  });
});

/** The per-kind rule sets of one document. */
function setsOf(doc: { file: string; text: string }): readonly CompiledRuleSet[] {
  return HealthRules.fromDocuments([doc]).kindSets();
}

/** The states a set's rules can give. */
function statesOf(set: CompiledRuleSet): Set<HealthState> {
  const out = new Set<HealthState>();
  for (const rule of set.rules) {
    if ('when' in rule.test) out.add(rule.test.state);
    else for (const state of rule.test.states.values()) out.add(state);
  }
  return out;
}
