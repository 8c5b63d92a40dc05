import { formatLocation } from './SourceLocation.ts';
import type { SourceLocation } from './SourceLocation.ts';

/** One problem found in a config file. */
export interface ConfigProblem {
  readonly location: SourceLocation;
  readonly message: string;
}

export function formatProblem(problem: ConfigProblem): string {
  return `${formatLocation(problem.location)}: ${problem.message}`;
}

/** Thrown when a config cannot be used; carries every problem found, not just the first. */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(
      problems.length === 1
        ? formatProblem(problems[0]!)
        : `${problems.length} problems in config:\n${problems.map((p) => '  ' + formatProblem(p)).join('\n')}`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
