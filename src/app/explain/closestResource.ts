import type { CompiledResource } from '../../engine/generate/CompiledResource.ts';
import { formatGvk, matchesPart } from '../../model/gvk.ts';
import type { GroupVersionKind } from '../../model/gvk.ts';
import { where } from './where.ts';

/**
 * For an object no resource entry matches: the entry that comes closest and why it does not
 * match, nearest first: same group and kind in another version; same kind in another group;
 * a kind that differs only in case; same group, another kind.
 */
export function closestResource(resources: readonly CompiledResource[], gvk: GroupVersionKind): string {
  const object = `${gvk.group === '' ? '' : gvk.group + '/'}${gvk.version} ${gvk.kind}`;
  if (resources.length === 0) return `no resource is configured (the object is ${object})`;
  const at = (r: CompiledResource) => `${formatGvk(r.groupVersionKind)} at ${where(r.config.location)}`;
  const rules: [(c: GroupVersionKind) => boolean, (r: CompiledResource) => string][] = [
    [
      (c) => matchesPart(c.group, gvk.group) && matchesPart(c.kind, gvk.kind),
      (r) =>
        `closest: ${at(r)}: same group and kind, but version ${r.groupVersionKind.version} where the object is ${gvk.version} (the bridge lists the configured version; is ${gvk.version} served too?)`,
    ],
    [
      (c) => c.kind === gvk.kind,
      (r) =>
        `closest: ${at(r)}: same kind, but group ${r.groupVersionKind.group} where the object is ${gvk.group || '(core)'}`,
    ],
    [
      (c) => c.kind.toLowerCase() === gvk.kind.toLowerCase() && matchesPart(c.group, gvk.group),
      (r) =>
        `closest: ${at(r)}: kind ${r.groupVersionKind.kind} differs from the object's ${gvk.kind} in case only (kinds are case-sensitive)`,
    ],
    [
      (c) => matchesPart(c.group, gvk.group),
      (r) =>
        `closest: ${at(r)}: same group, but kind ${r.groupVersionKind.kind} where the object is ${gvk.kind}`,
    ],
  ];
  for (const [test, say] of rules) {
    const found = [...resources].reverse().find((r) => test(r.groupVersionKind));
    if (found) return say(found);
  }
  return `no resource comes close: the object is ${object}; configured: ${resources.map((r) => formatGvk(r.groupVersionKind)).join(', ')}`;
}
