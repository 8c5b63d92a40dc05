// PromQL's functions, aggregations and keywords: everything an identifier in an expression can be
// besides a metric name. (Label names only appear inside {}, by()/without()/on()/ignoring()/
// group_*(), which are removed before identifiers are read.)
const NOT_METRICS: ReadonlySet<string> = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
]);

/**
 * The metric names an expression reads. Good enough for the expressions we write (not a parser):
 * strings, label matchers, range selectors and grouping clauses are cut out, and an identifier
 * followed by `(` is a function or aggregation.
 */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\boffset\s+-?[0-9a-z]+/gi, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/(?<![\w:])[0-9][0-9.]*(?:e[+-]?[0-9]+)?/gi, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (match[2] || NOT_METRICS.has(match[1]!.toLowerCase())) continue;
    names.add(match[1]!);
  }
  return [...names].sort();
}
