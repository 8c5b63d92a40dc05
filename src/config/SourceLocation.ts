/** Where a config value came from, so every error can name the file, line, column and key path. */
export interface SourceLocation {
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
  /** Key path in the document, e.g. `spec.resources[0].metrics[1].each.gauge.path`. */
  readonly keyPath: string;
}

export function formatLocation(loc: SourceLocation): string {
  return `${loc.file}:${loc.line}:${loc.column}${loc.keyPath === '' ? '' : `: ${loc.keyPath}`}`;
}
