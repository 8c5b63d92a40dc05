import { formatGoValue } from '../../go/goFormat.ts';
import { labelNameFromData, sanitizeLabelName } from '../../exposition/labelNames.ts';
import { isMap } from '../../go/kubeJson.ts';
import type { ErrorSink } from './EachGenerator.ts';
import type { ValuePath } from './ValuePath.ts';

/** A label whose value is read from the object by path; `star` keys copy a whole map. */
export interface PathLabel {
  readonly name: string;
  readonly path: ValuePath;
}

export interface CompiledPathLabels {
  /** Keys starting or ending with `*`, sorted as KSM processes them. */
  readonly stars: readonly PathLabel[];
  /** Plain keys, in declaration order. */
  readonly plain: readonly PathLabel[];
}

export function isStarKey(key: string): boolean {
  return key.startsWith('*') || key.endsWith('*');
}

export function compilePathLabels(entries: Iterable<PathLabel>): CompiledPathLabels {
  const stars: PathLabel[] = [];
  const plain: PathLabel[] = [];
  for (const entry of entries) (isStarKey(entry.name) ? stars : plain).push(entry);
  stars.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { stars, plain };
}

/**
 * The error sinks (one per object and family) that were already told about a dropped name: a map
 * with many bad keys, or a list whose every element has one, is counted once per object and
 * family, not once per label, so that it cannot use up the object's series budget with errors.
 */
const toldOfDroppedNames = new WeakSet<ErrorSink>();

/**
 * KSM's addPathLabels: star keys first (so explicit keys override them), nil values skipped,
 * values formatted like Go's `%v`. Map entries are visited in key order, where Go's map order is
 * random, so collisions resolve the same way every time. A map key that gives no valid label name
 * (labelNameFromData: empty, or reserved) is dropped and reported to `errors` as
 * `invalid-label-name`, once per object and family.
 */
export function addPathLabels(
  value: unknown,
  labels: CompiledPathLabels,
  result: Map<string, string>,
  errors: ErrorSink,
): void {
  for (const star of labels.stars) {
    const map = star.path.get(value);
    if (!isMap(map)) continue;
    const prefix = star.name.endsWith('*') ? star.name.slice(0, -1) : '';
    for (const key of Object.keys(map).sort()) {
      const name = labelNameFromData(prefix + key);
      if (name !== undefined) result.set(name, formatGoValue(map[key]));
      else if (!toldOfDroppedNames.has(errors)) {
        toldOfDroppedNames.add(errors);
        errors.report('invalid-label-name', droppedNameMessage(star.path.text, prefix + key));
      }
    }
  }
  for (const label of labels.plain) {
    const found = label.path.get(value);
    if (found === undefined || found === null) continue;
    result.set(sanitizeLabelName(label.name), formatGoValue(found));
  }
}

function droppedNameMessage(path: string, name: string): string {
  const shown = name.length > 100 ? `${name.slice(0, 100)}…` : name;
  return `${path}: key ${JSON.stringify(shown)} gives no valid label name (empty, or reserved: starts with "__"); label dropped`;
}
