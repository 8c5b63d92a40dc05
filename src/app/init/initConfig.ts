import { formatProblem } from '../../config/ConfigError.ts';
import { ConfigError } from '../../config/ConfigError.ts';
import { readConfigFile } from '../readConfigFile.ts';
import { CrdInputError, crdVersion } from './crd.ts';
import type { CrdVersion } from './crd.ts';
import { draftResource } from './draftResource.ts';
import type { DraftResource } from './draftResource.ts';
import { fullGroupPrefix, metricPrefix, NameScope } from './names.ts';
import type { CrdInput } from './readCrds.ts';
import { writeConfig } from './writeConfig.ts';

export interface InitOptions {
  /** Draft for this version of every CRD instead of its storage version. */
  readonly version?: string | undefined;
}

/** The drafted config, and the plan behind it (for reports and tests). */
export interface DraftedConfig {
  readonly text: string;
  readonly resources: readonly DraftResource[];
}

/** Inputs that cannot be drafted from: every problem, one line each (`where: what`). */
export class InitInputError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'InitInputError';
    this.problems = problems;
  }
}

/**
 * Drafts one config for the given CRDs: one resource per kind, sorted by group and kind, so the
 * order of the inputs does not matter. The text is checked as `check` would check it; a draft
 * that `check` would reject or warn about is a bug here, and throws.
 * @throws InitInputError for CRDs that cannot be drafted from (all of them listed).
 */
export async function draftConfig(
  inputs: readonly CrdInput[],
  options: InitOptions = {},
): Promise<DraftedConfig> {
  const problems: string[] = [];
  const versions: { crd: CrdVersion; where: string }[] = [];
  for (const input of inputs) {
    try {
      versions.push({ crd: crdVersion(input.object, options.version), where: input.where });
    } catch (err) {
      if (!(err instanceof CrdInputError)) throw err;
      problems.push(`${input.where}: ${err.message}`);
    }
  }
  const seen = new Map<string, string>();
  for (const { crd, where } of versions) {
    const key = `${crd.group}/${crd.kind}`;
    const first = seen.get(key);
    if (first !== undefined) problems.push(`${where}: ${key} is given twice (also in ${first})`);
    else seen.set(key, where);
  }
  if (problems.length > 0) throw new InitInputError(problems);
  if (versions.length === 0) throw new InitInputError(['no CustomResourceDefinition given']);
  const crds = versions
    .map((v) => v.crd)
    .sort((a, b) => compare(a.group, b.group) || compare(a.kind, b.kind));
  const prefixes = assignPrefixes(crds);
  const resources = uniqueFamilies(crds.map((crd, i) => draftResource(crd, prefixes[i]!)));
  const text = writeConfig(resources);
  await selfCheck(text);
  return { text, resources };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A metric name prefix per kind, unique in the draft: the short `<project>_<kind>` unless two
 * kinds share it (`Cluster` of two groups of one project), then the whole group for those.
 */
function assignPrefixes(crds: readonly CrdVersion[]): string[] {
  const short = crds.map((c) => metricPrefix(c.group, c.kind));
  const count = new Map<string, number>();
  for (const p of short) count.set(p, (count.get(p) ?? 0) + 1);
  const scope = new NameScope();
  return crds.map((c, i) =>
    scope.claim(count.get(short[i]!)! > 1 ? fullGroupPrefix(c.group, c.kind) : short[i]!),
  );
}

/**
 * Renames a metric whose full name another resource already has (prefixes differ, but
 * `a_b` + `c` and `a` + `b_c` meet): families of different kinds stay apart.
 */
function uniqueFamilies(resources: readonly DraftResource[]): DraftResource[] {
  const scope = new NameScope();
  return resources.map((r) => ({
    ...r,
    metrics: r.metrics.map((m) => {
      const full = `${r.prefix}_${m.name}`;
      const unique = scope.claim(full);
      return unique === full ? m : { ...m, name: unique.slice(r.prefix.length + 1) };
    }),
  }));
}

/**
 * Fails loudly if the draft is not a config `check` accepts without a warning: it is read the one
 * way every command reads a config.
 */
async function selfCheck(text: string): Promise<void> {
  let warnings;
  try {
    warnings = (await readConfigFile('drafted config', {}, text)).config.warnings;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new Error(
      `init drafted a config that check rejects: ${err.problems.map(formatProblem).join('; ')}`,
    );
  }
  if (warnings.length > 0)
    throw new Error(
      `init drafted a config that check warns about: ${warnings.map(formatProblem).join('; ')}`,
    );
}
