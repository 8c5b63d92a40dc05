import { listObjectFiles, parseObjects, readObjectFile } from '../../sources/objectFiles.ts';
import type { FileObject, FileProblem } from '../../sources/objectFiles.ts';
import { isCrd } from './crd.ts';

/** A CRD as read, with where it came from (for messages). */
export interface CrdInput {
  readonly object: Record<string, unknown>;
  /** A file, `standard input`, or `the cluster (GROUP/KIND)`. */
  readonly where: string;
}

/** What reading the inputs found: CRDs, problems (each one line) and notes. */
export interface CrdReadResult {
  readonly crds: CrdInput[];
  /** Each `where: what is wrong`; any problem makes `init` exit 1. */
  readonly problems: string[];
  /** Informational lines (objects skipped because they are not CRDs). */
  readonly notes: string[];
}

export const STDIN_NAME = 'standard input';

/**
 * Reads CRDs from files, directories (recursively, as `render` reads objects) and `-` (standard
 * input): multi-document YAML, JSON, `kind: List` (what `kubectl get crd -o yaml` prints). Other
 * objects next to CRDs are skipped (an install manifest holds Deployments too); a file named on
 * the command line with no CRD at all is a problem, a file without one inside a directory is skipped.
 */
export async function readCrdFiles(
  paths: readonly string[],
  stdin: (() => Promise<string>) | undefined,
): Promise<CrdReadResult> {
  const crds: CrdInput[] = [];
  const problems: string[] = [];
  const notes: string[] = [];
  const fileProblem = (p: FileProblem) => problems.push(`${p.file}: ${p.message}`);
  const take = (file: string, objects: readonly FileObject[]) => {
    const others: string[] = [];
    let found = 0;
    for (const o of objects) {
      if (isCrd(o.object)) {
        crds.push({ object: o.object, where: file });
        found++;
      } else others.push(typeof o.object.kind === 'string' ? o.object.kind : 'an object without kind');
    }
    const kinds = [...new Set(others)].sort().join(', ');
    if (found === 0 && !explicit.has(file)) {
      if (objects.length > 0) notes.push(`${file}: skipped, no CRD in it (found ${kinds})`);
    } else if (found === 0)
      problems.push(
        `${file}: no CustomResourceDefinition in it${others.length > 0 ? ` (found ${kinds})` : ' (no objects)'}`,
      );
    else if (others.length > 0)
      notes.push(
        `${file}: skipped ${others.length} object${others.length === 1 ? '' : 's'} that are not CRDs (${kinds})`,
      );
  };
  const files = paths.filter((p) => p !== '-');
  // A file named on the command line must hold a CRD; one found in a directory may not.
  const explicit = new Set(paths);
  const listed = await listObjectFiles(files);
  listed.problems.forEach(fileProblem);
  // Standard input can be read once: `-` given twice is read once.
  if (paths.includes('-')) {
    const parsed = parseObjects(stdin ? await stdin() : '', STDIN_NAME);
    parsed.problems.forEach(fileProblem);
    if (parsed.problems.length === 0) take(STDIN_NAME, parsed.objects);
  }
  for (const file of listed.files) {
    const parsed = await readObjectFile(file);
    parsed.problems.forEach(fileProblem);
    if (parsed.problems.length === 0) take(file, parsed.objects);
  }
  return { crds, problems, notes };
}
