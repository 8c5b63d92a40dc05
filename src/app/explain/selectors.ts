import { formatGoValue } from '../../go/goFormat.ts';
import { isMap } from '../../go/kubeJson.ts';

/**
 * Whether an object's labels match a Kubernetes label selector (`app=web,tier!=db`, `env in (a,b)`,
 * `env notin (c)`, `key`, `!key`), as the API server applies a resource's `labelSelector` to its
 * list and watch. Returns the first requirement that fails, or undefined when all hold.
 */
export function failedLabelRequirement(selector: string, object: unknown): string | undefined {
  const labels = stringMap(metadataOf(object)?.labels);
  for (const requirement of splitRequirements(selector)) {
    if (!labelRequirementHolds(requirement, labels)) return requirement;
  }
  return undefined;
}

/**
 * The same for a field selector (`metadata.name=x`, `metadata.namespace!=y`): fields are read by
 * their dotted path in the object, compared as strings (`=`, `==`, `!=`).
 */
export function failedFieldRequirement(selector: string, object: unknown): string | undefined {
  for (const requirement of splitRequirements(selector)) {
    const m = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/.exec(requirement);
    if (!m) continue;
    const [, field, op, value] = m;
    let current: unknown = object;
    for (const part of field!.split('.')) current = isMap(current) ? current[part] : undefined;
    const actual = current === undefined || current === null ? '' : formatGoValue(current);
    if ((op === '!=') === (actual === value)) return requirement;
  }
  return undefined;
}

function metadataOf(object: unknown): Record<string, unknown> | undefined {
  return isMap(object) && isMap(object.metadata) ? object.metadata : undefined;
}

function stringMap(value: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (isMap(value)) for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out.set(k, v);
  return out;
}

/** Splits on commas outside parentheses (`a in (x,y),b=c` is two requirements). */
function splitRequirements(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(current.trim());
      current = '';
    } else current += ch;
  }
  out.push(current.trim());
  return out.filter((r) => r !== '');
}

function labelRequirementHolds(requirement: string, labels: Map<string, string>): boolean {
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(requirement);
  if (set) {
    const values = set[3]!.split(',').map((v) => v.trim());
    const value = labels.get(set[1]!);
    return set[2] === 'in'
      ? value !== undefined && values.includes(value)
      : value === undefined || !values.includes(value);
  }
  const eq = /^([^!=\s]+)\s*(==|=|!=)\s*(.*)$/.exec(requirement);
  if (eq) {
    const value = labels.get(eq[1]!);
    return eq[2] === '!=' ? value !== eq[3] : value === eq[3];
  }
  if (requirement.startsWith('!')) return !labels.has(requirement.slice(1).trim());
  return labels.has(requirement);
}
