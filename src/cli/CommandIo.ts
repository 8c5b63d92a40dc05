import { text } from 'node:stream/consumers';

/** Where a command reads and writes; tests pass buffers, the CLI passes the process streams. */
export interface CommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** All of standard input (for `render -`); without it, `-` reads nothing. */
  readonly stdin?: () => Promise<string>;
}

export const processIo: CommandIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  stdin: () => text(process.stdin),
};
