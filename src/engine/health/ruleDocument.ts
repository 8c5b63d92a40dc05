import { isMap as isYamlMap, isSeq as isYamlSeq, LineCounter, parseDocument } from 'yaml';
import type { Document, Node } from 'yaml';
import { HEALTH_STATES, isHealthState } from './HealthVerdict.ts';
import { RuleExpression } from './RuleExpression.ts';
import type { HealthState } from './HealthVerdict.ts';

/** A group and kind a rule set is for. `*` matches any; a group may be `*.suffix` (`*.crossplane.io`). */
export interface KindPattern {
  readonly group: string;
  readonly kind: string;
}

/**
 * One rule, compiled. Either `when` (a bool) and `state`: when `when` is true the object is in
 * `state`; or `value` (a string, bool or number) and `states`: the object is in the state whose
 * list holds the value, and the rule does not apply when none does.
 */
export interface CompiledRule {
  /** `name` when the rule has one, else its 1-based position in its set. */
  readonly id: string;
  /** Whether `name` was given (reasons then use it). */
  readonly named: boolean;
  /**
   * The `status.conditions[]` entry that `self` is bound to: the first of a type (a string), or
   * the first whose fields match patterns. No such entry: the rule does not apply.
   */
  readonly condition: string | ConditionPattern | undefined;
  readonly test:
    | { readonly when: RuleExpression; readonly state: HealthState }
    | {
        readonly value: RuleExpression;
        readonly states: ReadonlyMap<string, HealthState>;
        readonly ignoreCase: boolean;
      };
  readonly reason: string | undefined;
  readonly reasonExpression: RuleExpression | undefined;
}

/**
 * Patterns a condition's fields must match in full, by field name (`type`, `status`, `reason`,
 * `message`, or any other string field such as Cluster API's `severity`). A field that is not a
 * string never matches.
 */
export type ConditionPattern = ReadonlyMap<string, RegExp>;

/**
 * Where a rule set sits in the order: `override` (the caller's, first), `first` (every kind, before
 * the kind's own rules), `kind` (for the kinds it lists), `last` (every kind, after the kind's rules).
 */
export type RuleSetPlace = 'override' | 'first' | 'kind' | 'last';

export interface CompiledRuleSet {
  readonly name: string;
  readonly place: RuleSetPlace;
  readonly kinds: readonly KindPattern[];
  /** The set is the ecosystem's whole definition: when none of its rules applies, stop (state unknown). */
  readonly complete: boolean;
  readonly rules: readonly CompiledRule[];
  /** The file it came from (or `override`). */
  readonly source: string;
}

/** One problem in a rule document: where (file:line:column, or a key path) and what. */
export interface HealthRuleProblem {
  readonly where: string;
  readonly keyPath: string;
  readonly message: string;
}

/** A rule document or an override that does not compile; lists every problem found. */
export class HealthRuleError extends Error {
  readonly problems: readonly HealthRuleProblem[];

  constructor(problems: readonly HealthRuleProblem[]) {
    super(problems.map((p) => `${p.where}: ${p.keyPath ? `${p.keyPath}: ` : ''}${p.message}`).join('\n'));
    this.name = 'HealthRuleError';
    this.problems = problems;
  }
}

const SET_KEYS = ['name', 'kinds', 'everyKind', 'complete', 'rules'];
const OVERRIDE_KEYS = ['complete', 'rules'];
const RULE_KEYS = [
  'name',
  'condition',
  'when',
  'state',
  'value',
  'states',
  'ignoreCase',
  'reason',
  'reasonExpression',
];
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

type Path = readonly (string | number)[];

/**
 * Collects problems with their key paths; a locator turns a path into file:line:column. `compile`:
 * compile CEL while reading and report its errors here, or leave it to the first use.
 */
class Problems {
  readonly list: HealthRuleProblem[] = [];
  readonly compile: boolean;
  private readonly _locate: (path: Path) => string;

  constructor(locate: (path: Path) => string, compile = true) {
    this._locate = locate;
    this.compile = compile;
  }

  add(path: Path, message: string): void {
    this.list.push({ where: this._locate(path), keyPath: formatPath(path), message });
  }
}

/** `ruleSets[0].rules[2].when`; a key that is not an identifier is quoted, as config key paths are. */
function formatPath(path: Path): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else {
      const key = /^[A-Za-z_][A-Za-z0-9_]*$/.test(part) ? part : JSON.stringify(part);
      out += out === '' ? key : `.${key}`;
    }
  }
  return out;
}

function isPlainMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses one rule document (a file of rules/health/, YAML): `ruleSets:` a list of rule sets, each
 * with `rules:` and either `kinds:` or `everyKind: first|last`. Throws a HealthRuleError listing
 * every problem, each at file:line:column. With `compile: false`, CEL expressions are compiled on
 * first use instead, and one that does not compile makes its rule never apply (for the shipped
 * files, whose expressions the tests compile).
 */
export function parseRuleDocument(
  text: string,
  file: string,
  options: { compile?: boolean } = {},
): CompiledRuleSet[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const at = (offset: number) => {
    const pos = lines.linePos(offset);
    return `${file}:${pos.line}:${pos.col}`;
  };
  if (doc.errors.length > 0) {
    throw new HealthRuleError(
      doc.errors.map((e) => ({
        where: at(e.pos[0]),
        keyPath: '',
        // The library's message repeats the position and quotes the line: keep its first sentence.
        message: (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, ''),
      })),
    );
  }
  const problems = new Problems((path) => at(nodeOffset(doc, path)), options.compile ?? true);
  const root: unknown = doc.toJS({ maxAliasCount: 0 });
  const sets: CompiledRuleSet[] = [];
  if (!isPlainMap(root) || !Array.isArray(root.ruleSets)) {
    problems.add([], 'expected a mapping with a list `ruleSets`');
  } else {
    for (const key of Object.keys(root))
      if (key !== 'ruleSets') problems.add([key], `unknown field "${key}"`);
    root.ruleSets.forEach((raw, index) => {
      const set = compileRuleSet(raw, ['ruleSets', index], problems, file);
      if (set) sets.push(set);
    });
  }
  if (problems.list.length > 0) throw new HealthRuleError(problems.list);
  return sets;
}

/**
 * Compiles rules given by a caller (a resource's override in the config, already parsed to plain
 * values): `{rules: [...], complete?: bool}`. Problems carry key paths under `keyPath`; `where`
 * names the config file.
 */
export function compileOverride(
  raw: unknown,
  where: string,
  keyPath: readonly string[] = [],
): CompiledRuleSet {
  const problems = new Problems(() => where);
  let set: CompiledRuleSet | undefined;
  if (!isPlainMap(raw)) problems.add(keyPath, 'expected a mapping with a list `rules`');
  else {
    for (const key of Object.keys(raw))
      if (!OVERRIDE_KEYS.includes(key)) problems.add([...keyPath, key], `unknown field "${key}"`);
    const complete = readBool(raw.complete, [...keyPath, 'complete'], problems);
    const rules = compileRules(raw.rules, [...keyPath, 'rules'], problems);
    set = { name: 'override', place: 'override', kinds: [], complete, rules, source: where };
  }
  if (problems.list.length > 0 || !set) throw new HealthRuleError(problems.list);
  return set;
}

function compileRuleSet(
  raw: unknown,
  path: Path,
  problems: Problems,
  file: string,
): CompiledRuleSet | undefined {
  if (!isPlainMap(raw)) {
    problems.add(path, 'expected a mapping (a rule set)');
    return undefined;
  }
  for (const key of Object.keys(raw))
    if (!SET_KEYS.includes(key)) problems.add([...path, key], `unknown field "${key}"`);
  let place: RuleSetPlace = 'kind';
  const kinds: KindPattern[] = [];
  if (raw.everyKind !== undefined) {
    if (raw.everyKind !== 'first' && raw.everyKind !== 'last')
      problems.add([...path, 'everyKind'], 'expected "first" or "last"');
    else place = raw.everyKind;
    if (raw.kinds !== undefined)
      problems.add([...path, 'kinds'], 'a rule set has either `kinds` or `everyKind`');
  } else if (!Array.isArray(raw.kinds) || raw.kinds.length === 0) {
    problems.add([...path, 'kinds'], 'expected a list of {group, kind} (or `everyKind: first|last`)');
  } else {
    raw.kinds.forEach((entry, i) => {
      const kind = readKindPattern(entry, [...path, 'kinds', i], problems);
      if (kind) kinds.push(kind);
    });
  }
  const complete = readBool(raw.complete, [...path, 'complete'], problems);
  const rules = compileRules(raw.rules, [...path, 'rules'], problems);
  let name: string;
  if (raw.name !== undefined) {
    if (typeof raw.name !== 'string' || raw.name === '') {
      problems.add([...path, 'name'], 'expected a non-empty string');
      name = '?';
    } else name = raw.name;
  } else if (kinds[0]) name = kinds[0].group === '' ? kinds[0].kind : `${kinds[0].group}/${kinds[0].kind}`;
  else {
    if (place !== 'kind') problems.add(path, 'a rule set for every kind needs a `name`');
    name = '?';
  }
  return { name, place, kinds, complete, rules, source: file };
}

function readKindPattern(raw: unknown, path: Path, problems: Problems): KindPattern | undefined {
  if (!isPlainMap(raw)) {
    problems.add(path, 'expected a mapping {group, kind}');
    return undefined;
  }
  for (const key of Object.keys(raw))
    if (key !== 'group' && key !== 'kind') problems.add([...path, key], `unknown field "${key}"`);
  const { group, kind } = raw;
  let ok = true;
  if (typeof group !== 'string' || !(group === '*' || /^(\*\.)?[a-z0-9.-]*$/.test(group))) {
    problems.add([...path, 'group'], 'expected a group: "" (core), a name, "*" or "*.suffix"');
    ok = false;
  }
  if (typeof kind !== 'string' || !(kind === '*' || /^[A-Za-z][A-Za-z0-9]*$/.test(kind))) {
    problems.add([...path, 'kind'], 'expected a kind name or "*"');
    ok = false;
  }
  return ok ? { group: group as string, kind: kind as string } : undefined;
}

function readBool(raw: unknown, path: Path, problems: Problems): boolean {
  if (raw === undefined) return false;
  if (typeof raw !== 'boolean') problems.add(path, 'expected true or false');
  return raw === true;
}

function compileRules(raw: unknown, path: Path, problems: Problems): CompiledRule[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    problems.add(path, 'expected a non-empty list of rules');
    return [];
  }
  const out: CompiledRule[] = [];
  const ids = new Set<string>();
  raw.forEach((entry, index) => {
    const rule = compileRule(entry, [...path, index], index, problems);
    if (!rule) return;
    if (ids.has(rule.id)) problems.add([...path, index, 'name'], `two rules named "${rule.id}" in one set`);
    ids.add(rule.id);
    out.push(rule);
  });
  return out;
}

function compileRule(raw: unknown, path: Path, index: number, problems: Problems): CompiledRule | undefined {
  if (!isPlainMap(raw)) {
    problems.add(path, 'expected a mapping (a rule: when and state, or value and states)');
    return undefined;
  }
  const before = problems.list.length;
  for (const key of Object.keys(raw))
    if (!RULE_KEYS.includes(key)) problems.add([...path, key], `unknown field "${key}"`);
  const { name, reason } = raw;
  if (name !== undefined && (typeof name !== 'string' || !NAME.test(name) || /^\d+$/.test(name)))
    problems.add([...path, 'name'], 'expected a name of letters, digits, ".", "_" or "-" (not only digits)');
  const condition = readCondition(raw.condition, [...path, 'condition'], problems);
  if (reason !== undefined && typeof reason !== 'string')
    problems.add([...path, 'reason'], 'expected a string');
  if (reason !== undefined && raw.reasonExpression !== undefined)
    problems.add([...path, 'reasonExpression'], 'a rule has `reason` or `reasonExpression`, not both');
  const reasonExpression =
    raw.reasonExpression === undefined
      ? undefined
      : compileCel(raw.reasonExpression, [...path, 'reasonExpression'], problems, 'value');
  let test: CompiledRule['test'] | undefined;
  // With a condition and no `when`, the condition being there is the test.
  const when = raw.when ?? (raw.condition !== undefined && raw.value === undefined ? 'true' : undefined);
  if (when !== undefined) {
    for (const key of ['value', 'states', 'ignoreCase'])
      if (raw[key] !== undefined)
        problems.add([...path, key], `a rule with \`when\` has \`state\`, not \`${key}\``);
    if (!isHealthState(raw.state))
      problems.add([...path, 'state'], `expected one of ${HEALTH_STATES.join(', ')}`);
    const compiled = compileCel(when, [...path, 'when'], problems, 'true');
    if (compiled && isHealthState(raw.state)) test = { when: compiled, state: raw.state };
  } else if (raw.value !== undefined) {
    if (raw.state !== undefined)
      problems.add([...path, 'state'], 'a rule with `value` has `states`, not `state`');
    const ignoreCase = readBool(raw.ignoreCase, [...path, 'ignoreCase'], problems);
    const states = readStates(raw.states, [...path, 'states'], problems, ignoreCase);
    const value = compileCel(raw.value, [...path, 'value'], problems, 'value');
    if (value && states) test = { value, states, ignoreCase };
  } else {
    problems.add(path, 'a rule needs `when` (or `condition`) and `state`, or `value` and `states`');
  }
  if (problems.list.length > before || !test) return undefined;
  return {
    id: typeof name === 'string' ? name : String(index + 1),
    named: typeof name === 'string',
    condition,
    test,
    reason: reason as string | undefined,
    reasonExpression,
  };
}

/**
 * `condition: Ready` (a type), or `condition: {type, status, reason, ...}`: patterns (JavaScript
 * regular expressions matched against the whole value; a leading `(?i)` ignores case).
 */
function readCondition(raw: unknown, path: Path, problems: Problems): string | ConditionPattern | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw === 'string') {
    if (raw === '') problems.add(path, 'expected a condition type');
    return raw;
  }
  if (!isPlainMap(raw) || Object.keys(raw).length === 0) {
    problems.add(
      path,
      'expected a condition type, or a mapping of field patterns (type, status, reason, ...)',
    );
    return undefined;
  }
  const out = new Map<string, RegExp>();
  for (const [field, pattern] of Object.entries(raw)) {
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(field)) {
      problems.add([...path, field], `"${field}" is not a condition field name`);
      continue;
    }
    if (typeof pattern !== 'string') {
      problems.add([...path, field], 'expected a pattern (a string)');
      continue;
    }
    const ignoreCase = pattern.startsWith('(?i)');
    try {
      out.set(field, new RegExp(`^(?:${ignoreCase ? pattern.slice(4) : pattern})$`, ignoreCase ? 'i' : ''));
    } catch (err) {
      problems.add([...path, field], `not a regular expression: ${(err as Error).message}`);
    }
  }
  return out;
}

/** `{healthy: [Running, Succeeded], degraded: [Failed]}` → value → state. */
function readStates(
  raw: unknown,
  path: Path,
  problems: Problems,
  ignoreCase: boolean,
): Map<string, HealthState> | undefined {
  if (!isPlainMap(raw) || Object.keys(raw).length === 0) {
    problems.add(path, 'expected a mapping of states to lists of values');
    return undefined;
  }
  const out = new Map<string, HealthState>();
  for (const [state, values] of Object.entries(raw)) {
    if (!isHealthState(state)) {
      problems.add([...path, state], `expected one of ${HEALTH_STATES.join(', ')}`);
      continue;
    }
    if (!Array.isArray(values) || values.length === 0) {
      problems.add([...path, state], 'expected a non-empty list of values');
      continue;
    }
    values.forEach((v, i) => {
      if (typeof v !== 'string' && typeof v !== 'boolean' && typeof v !== 'number') {
        problems.add([...path, state, i], 'expected a string, bool or number');
        return;
      }
      const key = ignoreCase ? String(v).toLowerCase() : String(v);
      const earlier = out.get(key);
      if (earlier !== undefined && earlier !== state)
        problems.add([...path, state, i], `"${String(v)}" is already listed under ${earlier}`);
      else out.set(key, state);
    });
  }
  return out;
}

function compileCel(
  raw: unknown,
  path: Path,
  problems: Problems,
  purpose: 'true' | 'value',
): RuleExpression | undefined {
  if (typeof raw !== 'string' || raw.trim() === '') {
    problems.add(path, 'expected a CEL expression (a string)');
    return undefined;
  }
  const expression = new RuleExpression(raw, purpose);
  const error = problems.compile ? expression.compile() : undefined;
  if (error !== undefined) {
    problems.add(path, `CEL: ${error}`);
    return undefined;
  }
  return expression;
}

/** The offset of the node at `path` (or of its nearest existing parent) in the document. */
function nodeOffset(doc: Document, path: Path): number {
  let node: unknown = doc.contents;
  let offset = (node as Node | null)?.range?.[0] ?? 0;
  for (const part of path) {
    let next: unknown;
    if (isYamlMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === part);
      // An unknown key points at the key itself.
      if (pair) next = pair.value ?? pair.key;
    } else if (isYamlSeq(node) && typeof part === 'number') next = node.items[part];
    const range = (next as Node | undefined)?.range;
    if (!range) break;
    node = next;
    offset = range[0];
  }
  return offset;
}
