import { CelConversionCache } from '../../../src/engine/cel/CelExpression.ts';
import type { EachContext } from '../../../src/engine/generate/EachGenerator.ts';
import { SeriesBudget } from '../../../src/engine/generate/SeriesBudget.ts';
import { DEFAULT_LIMITS } from '../../../src/engine/limits.ts';
import type { SeriesLimits } from '../../../src/engine/limits.ts';

/** A generator's context for one object, with the per-object errors it reported. */
export function eachContext(
  object: unknown,
  limits: Partial<SeriesLimits> = {},
): EachContext & { reported: string[] } {
  const budget = new SeriesBudget({ ...DEFAULT_LIMITS, ...limits });
  budget.startFamily({ index: 0, name: 'f', type: 'gauge', help: '' }, new Map());
  const reported: string[] = [];
  return {
    root: object,
    cel: new CelConversionCache(),
    memo: {},
    errors: { report: (kind, message) => reported.push(`${kind}: ${message}`) },
    budget,
    reported,
  };
}

/** Series as `labels value` lines, labels in insertion order. */
export function lines(values: readonly { labels: Map<string, string>; value: number }[]): string[] {
  return values.map((v) => `${[...v.labels].map(([k, x]) => `${k}=${x}`).join(',')} ${v.value}`);
}
