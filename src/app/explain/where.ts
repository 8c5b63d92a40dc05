import type { SourceLocation } from '../../config/SourceLocation.ts';

/** `file:line`, how explain points into the config. */
export function where(location: SourceLocation): string {
  return `${location.file}:${location.line}`;
}
