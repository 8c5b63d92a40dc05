import type { JsonPathStep } from './printerColumnPath.ts';

/** CEL's reserved words: they cannot follow a dot (`object.spec.namespace` does not parse). */
const RESERVED = new Set([
  'true',
  'false',
  'null',
  'in',
  'as',
  'break',
  'const',
  'continue',
  'else',
  'for',
  'function',
  'if',
  'import',
  'let',
  'loop',
  'package',
  'namespace',
  'return',
  'var',
  'void',
  'while',
]);

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A CEL string literal (JSON's escapes are CEL's). */
function quote(text: string): string {
  return JSON.stringify(text);
}

/**
 * A CEL expression giving the value at `steps`, or `null` when any step is missing:
 * `has(object.status) && has(object.status.replicas) ? object.status.replicas : null`. A gauge
 * whose field is absent then gives no series, where a plain `path` would count a `nil-value`
 * error for every object that has not got the field yet (a new object without status).
 */
export function guardedValueExpression(steps: readonly JsonPathStep[]): string {
  const checks: string[] = [];
  let access = 'object';
  for (const step of steps) {
    if (step.kind === 'field') {
      if (IDENTIFIER.test(step.name) && !RESERVED.has(step.name)) {
        checks.push(`has(${access}.${step.name})`);
        access = `${access}.${step.name}`;
      } else {
        checks.push(`${quote(step.name)} in ${access}`);
        access = `${access}[${quote(step.name)}]`;
      }
    } else if (step.kind === 'index') {
      checks.push(step.index >= 0 ? `size(${access}) > ${step.index}` : `size(${access}) >= ${-step.index}`);
      access = step.index >= 0 ? `${access}[${step.index}]` : `${access}[size(${access}) - ${-step.index}]`;
    } else {
      const test = `has(e.${step.key}) && e.${step.key} == ${quote(step.value)}`;
      checks.push(`${access}.exists(e, ${test})`);
      access = `${access}.filter(e, ${test})[0]`;
    }
  }
  return `${checks.join(' && ')} ? ${access} : null`;
}
