import { CelConversionCache, outcomeToLabel } from '../cel/CelExpression.ts';
import type { CelOutcome } from '../cel/CelExpression.ts';
import { parseGoRfc3339Seconds } from '../../go/rfc3339.ts';
import { isMap } from '../../go/kubeJson.ts';
import { boundedView } from './boundedView.ts';
import { fieldsPresent } from './requiredFields.ts';
import { compileOverride, parseRuleDocument } from './ruleDocument.ts';
import type { CompiledRule, CompiledRuleSet, ConditionPattern, KindPattern } from './ruleDocument.ts';
import type { HealthState, HealthVerdict } from './HealthVerdict.ts';

/** A rule document's text and the name it is reported under (its file). */
export interface RuleDocumentText {
  readonly file: string;
  readonly text: string;
}

/** Reasons are for people and may end up in labels: one line, bounded. */
const MAX_REASON_LENGTH = 200;
/** Distinct group/kind pairs whose rule chain is kept; past this the cache starts over. */
const MAX_CACHED_KINDS = 4096;

/**
 * Decides the health of one object from rules written as data (rules/health/*.yaml, and a
 * resource's overrides). Order: overrides, then the every-kind rules marked `first` (deletion),
 * then the rule sets for the object's group/kind (most specific first), then the every-kind rules
 * marked `last` (kstatus and the common conventions). Within a set, rules are tried in order and
 * the first whose `when` is true decides. A set marked `complete` ends the chain: when none of
 * its rules applies the state is unknown.
 *
 * Each rule costs at most one CEL evaluation (plus one for a computed reason of the deciding
 * rule); a rule whose expression fails on the object (missing field, wrong type) does not apply.
 * Rules see the object cut to bounded sizes (boundedView.ts), so a hostile object cannot make a
 * list macro run long.
 */
export class HealthRules {
  private readonly _sets: readonly CompiledRuleSet[];
  private readonly _override: CompiledRuleSet | undefined;
  private readonly _chains = new Map<string, readonly CompiledRuleSet[]>();

  /**
   * Throws HealthRuleError (every problem, at file:line:column) when a document does not compile.
   * @param options.compile compile every CEL expression now (and report its errors); else on
   *   first use. @default true
   */
  static fromDocuments(
    documents: readonly RuleDocumentText[],
    options: { compile?: boolean } = {},
  ): HealthRules {
    return new HealthRules(documents.flatMap((d) => parseRuleDocument(d.text, d.file, options)));
  }

  private constructor(sets: readonly CompiledRuleSet[], override?: CompiledRuleSet) {
    this._sets = sets;
    this._override = override;
  }

  /**
   * These rules with a resource's own in front: `{rules: [...], complete?: bool}` as plain values
   * (the same rule syntax as the documents). Throws HealthRuleError naming `where` and key paths
   * under `keyPath`.
   */
  withOverrides(raw: unknown, where: string, keyPath: readonly string[] = []): HealthRules {
    return new HealthRules(this._sets, compileOverride(raw, where, keyPath));
  }

  /** The per-kind rule sets, in the order they were read. */
  kindSets(): readonly CompiledRuleSet[] {
    return this._sets.filter((s) => s.place === 'kind');
  }

  /** The rule sets consulted for a group/kind, in order (overrides first). */
  chainFor(group: string, kind: string): readonly CompiledRuleSet[] {
    const key = `${group}/${kind}`;
    let chain = this._chains.get(key);
    if (!chain) {
      const forKind = this._sets
        .map((set, order) => ({ set, order, score: bestScore(set.kinds, group, kind) }))
        .filter((c) => c.set.place === 'kind' && c.score >= 0)
        .sort((a, b) => b.score - a.score || a.order - b.order)
        .map((c) => c.set);
      const all = [
        ...(this._override ? [this._override] : []),
        ...this._sets.filter((s) => s.place === 'first'),
        ...forKind,
        ...this._sets.filter((s) => s.place === 'last'),
      ];
      const end = all.findIndex((s) => s.complete);
      chain = end < 0 ? all : all.slice(0, end + 1);
      if (this._chains.size >= MAX_CACHED_KINDS) this._chains.clear();
      this._chains.set(key, chain);
    }
    return chain;
  }

  /**
   * The verdict for one object of the given group and kind. Never throws: any JSON value is
   * accepted, and what the rules cannot decide is `unknown`.
   */
  verdict(given: unknown, group: string, kind: string, cache = new CelConversionCache()): HealthVerdict {
    const object = boundedView(given);
    if (!isMap(object)) return { state: 'unknown', reason: 'not an object', rule: 'none' };
    const conditions = new ConditionIndex(object);
    const chain = this.chainFor(group, kind);
    for (const set of chain) {
      for (const rule of set.rules) {
        const verdict = tryRule(set, rule, object, conditions, cache);
        if (verdict) return verdict;
      }
    }
    const last = chain[chain.length - 1];
    return last?.complete
      ? { state: 'unknown', reason: `no rule of ${last.name} applies`, rule: `${last.name}#none` }
      : { state: 'unknown', reason: 'no rule applies', rule: 'none' };
  }
}

function tryRule(
  set: CompiledRuleSet,
  rule: CompiledRule,
  object: Record<string, unknown>,
  conditions: ConditionIndex,
  cache: CelConversionCache,
): HealthVerdict | undefined {
  let self: unknown = object;
  let condition: Record<string, unknown> | undefined;
  if (rule.condition !== undefined) {
    condition = conditions.find(rule.condition);
    if (!condition) return undefined;
    self = condition;
  }
  const decided = decide(rule, object, self, cache);
  if (!decided) return undefined;
  const ruleId = `${set.name}#${rule.id}`;
  const reason = oneLine(
    computedReason(rule, object, self, cache) ??
      rule.reason ??
      (condition ? conditionReason(condition) : decided.reason),
  );
  const since = condition?.lastTransitionTime;
  return {
    state: decided.state,
    reason,
    ...(condition ? { condition: condition.type as string } : {}),
    ...(typeof since === 'string' && parseGoRfc3339Seconds(since) !== undefined ? { since } : {}),
    rule: ruleId,
  };
}

/** The state a rule gives the object, with a default reason; undefined when it does not apply. */
function decide(
  rule: CompiledRule,
  object: unknown,
  self: unknown,
  cache: CelConversionCache,
): { state: HealthState; reason: string } | undefined {
  const test = rule.test;
  const expression = ('when' in test ? test.when : test.value).get();
  // Fields the expression needs are absent: it cannot pass, and no CEL needs to run.
  if (!expression || !fieldsPresent(expression.needs, object, self)) return undefined;
  let outcome: CelOutcome;
  try {
    outcome = expression.cel.evaluate(object, self, cache);
  } catch {
    // A missing field, a wrong type, or anything else the object makes of the expression: the
    // rule does not apply to this object.
    return undefined;
  }
  if ('when' in test) {
    return outcome.kind === 'bool' && outcome.value
      ? { state: test.state, reason: test.when.source }
      : undefined;
  }
  const value = outcomeToLabel(outcome);
  if (value === undefined) return undefined;
  const state = test.states.get(test.ignoreCase ? value.toLowerCase() : value);
  if (state === undefined) return undefined;
  return { state, reason: `${rule.named ? rule.id : test.value.source} ${value}` };
}

function computedReason(
  rule: CompiledRule,
  object: unknown,
  self: unknown,
  cache: CelConversionCache,
): string | undefined {
  const expression = rule.reasonExpression?.get();
  if (!expression) return undefined;
  try {
    const outcome = expression.cel.evaluate(object, self, cache);
    return outcome.kind === 'string' && outcome.value !== '' ? outcome.value : undefined;
  } catch {
    return undefined;
  }
}

/** `Ready=False: message`, or `Ready=False (Reason)` when there is no message. */
function conditionReason(condition: Record<string, unknown>): string {
  const status = typeof condition.status === 'string' ? condition.status : '?';
  const head = `${condition.type as string}=${status}`;
  if (typeof condition.message === 'string' && condition.message.trim() !== '')
    return `${head}: ${condition.message}`;
  if (typeof condition.reason === 'string' && condition.reason !== '') return `${head} (${condition.reason})`;
  return head;
}

function oneLine(text: string): string {
  const flat = text.length > MAX_REASON_LENGTH * 4 ? text.slice(0, MAX_REASON_LENGTH * 4) : text;
  const line = flat.replace(/\s+/g, ' ').trim();
  return line.length > MAX_REASON_LENGTH ? `${line.slice(0, MAX_REASON_LENGTH - 1)}…` : line;
}

/** -1: no match; higher: more specific (exact group beats `*.suffix` beats `*`; then exact kind). */
function bestScore(patterns: readonly KindPattern[], group: string, kind: string): number {
  let best = -1;
  for (const p of patterns) {
    let groupScore: number;
    if (p.group === group) groupScore = 2;
    else if (p.group === '*') groupScore = 0;
    else if (p.group.startsWith('*.') && group.endsWith(p.group.slice(1))) groupScore = 1;
    else continue;
    let kindScore: number;
    if (p.kind === kind) kindScore = 1;
    else if (p.kind === '*') kindScore = 0;
    else continue;
    best = Math.max(best, groupScore * 2 + kindScore);
  }
  return best;
}

/**
 * `status.conditions[]`: the entries with a string `type`, read once on the first rule that names
 * a condition, and indexed by type (the first entry of a type wins).
 */
class ConditionIndex {
  private readonly _object: Record<string, unknown>;
  private _list: Record<string, unknown>[] | undefined;
  private _byType: Map<string, Record<string, unknown>> | undefined;

  constructor(object: Record<string, unknown>) {
    this._object = object;
  }

  find(wanted: string | ConditionPattern): Record<string, unknown> | undefined {
    if (!this._list) {
      this._list = [];
      this._byType = new Map();
      const status = this._object.status;
      const list = isMap(status) ? status.conditions : undefined;
      if (Array.isArray(list)) {
        for (const entry of list) {
          if (!isMap(entry) || typeof entry.type !== 'string') continue;
          this._list.push(entry);
          if (!this._byType.has(entry.type)) this._byType.set(entry.type, entry);
        }
      }
    }
    if (typeof wanted === 'string') return this._byType!.get(wanted);
    return this._list.find((entry) => matches(wanted, entry));
  }
}

function matches(pattern: ConditionPattern, entry: Record<string, unknown>): boolean {
  for (const [field, re] of pattern) {
    const value = Object.hasOwn(entry, field) ? entry[field] : undefined;
    if (typeof value !== 'string' || !re.test(value)) return false;
  }
  return true;
}
