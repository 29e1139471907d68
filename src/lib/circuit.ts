import { UsherError } from './errors';

/**
 * What this process knows of one dependency (PostgreSQL, Temporal): up, or down since a call or a readiness check
 * found it unreachable. While it is down, callers are answered at once (503 with Retry-After) instead of each waiting
 * out its own deadline, and a probe runs every `probeMs` until the dependency answers; the first answer brings it back
 * up, so requests and /readyz recover within about a second of the dependency's return.
 */
export class Circuit {
  private downSince: number | undefined;
  private lastProblem = '';
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private checking = false;

  constructor(
    readonly name: string,
    private readonly probe: () => Promise<unknown>,
    private readonly options: { probeMs?: number; retryAfterSeconds?: number; onChange?: (up: boolean, problem: string) => void } = {},
  ) {}

  get isDown(): boolean {
    return this.downSince !== undefined;
  }

  /** Why it is down (for the operator's log), or ''. */
  get problem(): string {
    return this.isDown ? this.lastProblem : '';
  }

  get retryAfterSeconds(): number {
    return this.options.retryAfterSeconds ?? 2;
  }

  /** Throws the 503 while the dependency is known to be down. */
  check(): void {
    if (this.isDown) throw this.unavailable();
  }

  unavailable(detail?: string, cause?: unknown): UsherError {
    return new UsherError('unavailable', detail ?? `${this.name} is unavailable; try again shortly`, { retryAfter: this.retryAfterSeconds }, cause);
  }

  markDown(problem: unknown): void {
    this.lastProblem = problem instanceof Error ? problem.message : String(problem);
    if (this.isDown || this.stopped) return;
    this.downSince = Date.now();
    this.options.onChange?.(false, this.lastProblem);
    this.schedule();
  }

  /** A failure that may be the dependency or only this call (a timeout under load): down if a probe now fails too. */
  suspect(problem: unknown): void {
    if (this.isDown || this.checking || this.stopped) return;
    this.checking = true;
    this.probe()
      .then(
        () => undefined,
        (err: unknown) => this.markDown(err ?? problem),
      )
      .finally(() => {
        this.checking = false;
      });
  }

  markUp(): void {
    if (!this.isDown) return;
    this.downSince = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.options.onChange?.(true, '');
  }

  /** No more probes (the process is shutting down). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.probe().then(
        () => this.markUp(),
        (err: unknown) => {
          this.lastProblem = err instanceof Error ? err.message : String(err);
          if (this.isDown) this.schedule();
        },
      );
    }, this.options.probeMs ?? 1000);
    this.timer.unref();
  }
}
