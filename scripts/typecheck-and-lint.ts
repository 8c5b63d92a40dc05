// `tsc --noEmit -p .` and `eslint .` from one TypeScript program. ESLint's type-aware rules
// otherwise build the whole program again (parsing and binding every file a second time), which
// is most of what tsc itself costs. Prints what each finds; exits 1 if either finds a problem.
import path from 'node:path';
import { ESLint } from 'eslint';
import ts from 'typescript';

const root = path.resolve(import.meta.dirname, '..');
const host: ts.FormatDiagnosticsHost = {
  getCanonicalFileName: (file) => file,
  getCurrentDirectory: () => root,
  getNewLine: () => '\n',
};

const parsed = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.json'), undefined, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
    throw new Error(ts.formatDiagnostic(diagnostic, host));
  },
});
if (!parsed) throw new Error(`${root}/tsconfig.json could not be read`);
const program = ts.createProgram({
  rootNames: parsed.fileNames,
  options: parsed.options,
  ...(parsed.projectReferences ? { projectReferences: parsed.projectReferences } : {}),
});
const diagnostics = [...parsed.errors, ...ts.getPreEmitDiagnostics(program)];

// The project's eslint.config.js as it is, but with this program in place of its project service.
const eslint = new ESLint({
  cwd: root,
  overrideConfig: { languageOptions: { parserOptions: { projectService: false, programs: [program] } } },
});
const results = await eslint.lintFiles(['.']);
const problems = results.reduce((n, r) => n + r.errorCount + r.warningCount, 0);

if (diagnostics.length > 0)
  process.stdout.write(
    `tsc: ${diagnostics.length} error(s)\n${(process.stdout.isTTY ? ts.formatDiagnosticsWithColorAndContext : ts.formatDiagnostics)(diagnostics, host)}\n`,
  );
if (problems > 0)
  process.stdout.write(
    `eslint: ${problems} problem(s)\n${await (await eslint.loadFormatter('stylish')).format(results)}\n`,
  );
process.exitCode = diagnostics.length > 0 || problems > 0 ? 1 : 0;
