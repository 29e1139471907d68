/**
 * One at a time per key, in arrival order, within a process. A caller waits for the one ahead of it at most `maxWaitMs`
 * and then goes on anyway: the turns only spare a shared resource needless concurrency (correctness lives elsewhere).
 */
export interface Turns {
  /** `work` is told whether another caller was ahead of it: what that one did may have changed what this one finds. */
  run<T>(key: string, maxWaitMs: number, work: (waited: boolean) => Promise<T>): Promise<T>;
  /** Keys with a caller running or waiting (for tests and metrics). */
  size(): number;
}

export function keyedTurns(): Turns {
  const tails = new Map<string, Promise<void>>();
  return {
    async run(key, maxWaitMs, work) {
      const ahead = tails.get(key);
      let done!: () => void;
      const mine = new Promise<void>((resolve) => {
        done = resolve;
      });
      const tail = ahead !== undefined ? ahead.then(() => mine) : mine;
      tails.set(key, tail);
      try {
        if (ahead !== undefined) await waitAtMost(ahead, maxWaitMs);
        return await work(ahead !== undefined);
      } finally {
        done();
        if (tails.get(key) === tail) tails.delete(key);
      }
    },
    size: () => tails.size,
  };
}

async function waitAtMost(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))))]);
  clearTimeout(timer);
}
