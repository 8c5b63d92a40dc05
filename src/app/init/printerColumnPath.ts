/** One step of a printer column's JSONPath that a config path can follow. */
export type JsonPathStep =
  | { readonly kind: 'field'; readonly name: string }
  | { readonly kind: 'index'; readonly index: number }
  /** `[?(@.type=="Ready")]`: the first list element whose `key` is `value` (a config `[key=value]`). */
  | { readonly kind: 'filter'; readonly key: string; readonly value: string };

const FILTER = /^\?\(\s*@\.([A-Za-z_][A-Za-z0-9_]*)\s*==\s*(?:"([^"]*)"|'([^']*)')\s*\)$/;

/**
 * Parses an `additionalPrinterColumns` JSONPath (`.status.conditions[?(@.type=="Ready")].status`,
 * `.metadata.labels['app']`, `.metadata.annotations.example\.com/tier`, `.spec.hosts[0]`) into
 * steps; undefined for what one config path cannot express (`[*]`, `..`, other filters), which
 * selects several values or computes one.
 */
export function parsePrinterColumnPath(jsonPath: string): JsonPathStep[] | undefined {
  let text = jsonPath.trim();
  if (text.startsWith('{') && text.endsWith('}')) text = text.slice(1, -1).trim();
  if (!text.startsWith('.') && !text.startsWith('[')) text = `.${text}`;
  const steps: JsonPathStep[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === '.') {
      if (text[i + 1] === '.') return undefined;
      let name = '';
      i++;
      while (i < text.length && text[i] !== '.' && text[i] !== '[') {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        name += text[i];
        i++;
      }
      if (name === '') return undefined;
      steps.push({ kind: 'field', name });
    } else if (text[i] === '[') {
      const end = closingBracket(text, i);
      if (end < 0) return undefined;
      const inner = text.slice(i + 1, end).trim();
      i = end + 1;
      const quoted = /^(?:'([^']*)'|"([^"]*)")$/.exec(inner);
      const filter = FILTER.exec(inner);
      // kubectl reads `['example\.com/tier']` as `example.com/tier`: a backslash escapes inside quotes too.
      if (quoted) steps.push({ kind: 'field', name: (quoted[1] ?? quoted[2]!).replace(/\\(.)/g, '$1') });
      else if (/^-?[0-9]+$/.test(inner)) steps.push({ kind: 'index', index: Number(inner) });
      else if (filter) steps.push({ kind: 'filter', key: filter[1]!, value: filter[2] ?? filter[3]! });
      else return undefined;
    } else {
      return undefined;
    }
  }
  return steps.length > 0 ? steps : undefined;
}

/** The index of the `]` closing the `[` at `start`, skipping quoted text; -1 if none. */
function closingBracket(text: string, start: number): number {
  let quote: string | undefined;
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ']') return i;
  }
  return -1;
}

/**
 * The steps as the text used in comments: `status.conditions[type=Ready].status`,
 * `metadata.labels['example.com/tier']`.
 */
export function formatSteps(steps: readonly JsonPathStep[]): string {
  let out = '';
  for (const step of steps) {
    if (step.kind === 'field')
      out += /^[A-Za-z0-9_-]+$/.test(step.name) ? `${out === '' ? '' : '.'}${step.name}` : `['${step.name}']`;
    else if (step.kind === 'index') out += `[${step.index}]`;
    else out += `[${step.key}=${step.value}]`;
  }
  return out;
}
