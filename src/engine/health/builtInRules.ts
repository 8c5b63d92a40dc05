import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HealthRules } from './HealthRules.ts';

const PACKAGE_NAME = 'crd-metrics-bridge';
const RULES_DIR = join('rules', 'health');

/**
 * The package's directory: the nearest directory above this module whose package.json is ours.
 * From a checkout this module is src/engine/health/; installed, it is bundled into dist/ (a flat
 * esbuild output) and the image copies the package tree to /app: walking up finds the root in
 * every layout.
 */
export function packageRoot(from: string = fileURLToPath(import.meta.url)): string | undefined {
  let dir = dirname(from);
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME)
          return dir;
      } catch {
        // Not a readable manifest: keep walking up.
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The file every-kind rules live in: without it every object would be `unknown`, silently. */
const GENERIC_RULES = 'generic.yaml';

/** The directory of the shipped rule files (`rules/health/` at the package root). */
export function builtInRulesDir(root: string | undefined = packageRoot()): string {
  const dir = root === undefined ? undefined : join(root, RULES_DIR);
  if (dir === undefined || !existsSync(dir))
    throw new Error(`health rules not found: no ${RULES_DIR}/ in the ${PACKAGE_NAME} package`);
  if (!existsSync(join(dir, GENERIC_RULES)))
    throw new Error(`health rules incomplete: no ${GENERIC_RULES} in ${dir}`);
  return dir;
}

/** Every `*.yaml` of a rules directory, in file-name order (the order rule sets are tried in at equal specificity). */
export function readRuleDocuments(dir: string): { file: string; text: string }[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.yaml'))
    .sort()
    .map((name) => ({ file: join(dir, name), text: readFileSync(join(dir, name), 'utf8') }));
}

let builtIn: HealthRules | undefined;

/**
 * The shipped rules (generic and per ecosystem), read once; each expression is compiled when an
 * object first needs it (test/engine/health compiles them all).
 */
export function builtInHealthRules(): HealthRules {
  builtIn ??= HealthRules.fromDocuments(readRuleDocuments(builtInRulesDir()), { compile: false });
  return builtIn;
}
