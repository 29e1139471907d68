import { type ChildProcess, spawn } from 'node:child_process';

export interface CollectedChild {
  child: ChildProcess;
  /** Its exit code (-1 when a signal ended it), once it has exited and its output has ended; rejects if it could not be started. */
  exited: Promise<number>;
  output(): { stdout: string; stderr: string };
}

/**
 * A command run with its stdout and stderr collected. `exited` waits for 'close', not 'exit': the output's last chunk
 * can be read after the exit is seen.
 */
export function spawnCollecting(command: string, args: string[], options: { env: NodeJS.ProcessEnv; cwd?: string }): CollectedChild {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? -1));
  });
  return { child, exited, output: () => ({ stdout, stderr }) };
}
