import { formatProblem } from '../../config/ConfigError.ts';
import type { ConfigProblem } from '../../config/ConfigError.ts';
import { formatObjectRef } from '../../model/objectRef.ts';
import type { FamilyExplanation, ObjectExplanation } from './explainObject.ts';
import { where } from './where.ts';

/**
 * An explanation as text: a line naming the object, then for each resource entry it matches one
 * line per family: its series (indented below), or `no series (expected|error): REASON (file:line)`.
 */
export function formatExplanation(explanation: ObjectExplanation): string {
  const { ref, gvk } = explanation;
  const kind = gvk ? `${gvk.kind} ${gvk.group === '' ? '' : gvk.group + '/'}${gvk.version}` : 'object';
  const lines = [`${kind} ${formatObjectRef(ref)}`];
  if (explanation.unmatched !== undefined)
    lines.push(`  matches no resource (error): ${explanation.unmatched}`);
  for (const resource of explanation.resources) {
    lines.push(
      `  resource ${resource.gvk} at ${where(resource.location)}${resource.boundAs ? ` (as ${resource.boundAs})` : ''}`,
    );
    for (const family of resource.families) lines.push(...familyLines(family));
  }
  return lines.join('\n') + '\n';
}

function familyLines(family: FamilyExplanation): string[] {
  const head = `    ${family.name} (${family.type})`;
  const at = `(${where(family.reasonLocation ?? family.location)})`;
  const out: string[] = [];
  if (family.series.length === 0)
    out.push(`${head}: no series (${family.verdict}): ${family.reason ?? ''} ${at}`);
  else if (family.reason !== undefined)
    out.push(`${head}: ${count(family)} (${family.verdict}): ${family.reason} ${at}`);
  else if (family.note !== undefined)
    out.push(`${head}: ${count(family)}: ${family.note} (${where(family.location)})`);
  else out.push(`${head}: ${count(family)} (${where(family.location)})`);
  for (const line of family.series) out.push(`      ${line}`);
  return out;
}

/** `3 series`; an aggregate family's object adds to groups rather than giving series. */
function count(family: FamilyExplanation): string {
  const n = family.series.length;
  return family.type === 'aggregate' ? `adds to ${n} group${n === 1 ? '' : 's'}` : `${n} series`;
}

/** Whether an explanation found an error in the object or the config (exit 1). */
export function hasError(explanation: ObjectExplanation): boolean {
  return (
    explanation.unmatched !== undefined ||
    explanation.resources.some((r) => r.families.some((f) => f.verdict === 'error'))
  );
}

/** The config's problems, as `check` prints them, for the head of an explain output. */
export function formatConfigProblems(problems: readonly ConfigProblem[]): string {
  return problems.map((p) => `error: ${formatProblem(p)}\n`).join('');
}
