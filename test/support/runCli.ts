import { main } from '../../src/cli/main.ts';

/** Runs the CLI in-process with captured output (and `stdin` as standard input). */
export async function runCli(
  argv: string[],
  stdin = '',
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    stdin: () => Promise.resolve(stdin),
  });
  return { code, stdout, stderr };
}
