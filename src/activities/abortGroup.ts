/**
 * A fresh abort signal per request, all aborted when the parent (the activity's cancellation signal) is.
 *
 * Why not hand the parent to every request: the `openai` client adds an abort listener to the signal it
 * is given and never removes it after a normal response, so a chunk's requests would pile a hundred
 * listeners (and their AbortControllers) on one signal, each new one checked against the rest.
 */
export class AbortGroup {
  private readonly live = new Set<AbortController>();

  constructor(private readonly parent: AbortSignal) {
    parent.addEventListener('abort', () => this.live.forEach((c) => c.abort(parent.reason)), { once: true });
  }

  async run<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    if (this.parent.aborted) controller.abort(this.parent.reason);
    this.live.add(controller);
    try {
      return await work(controller.signal);
    } finally {
      this.live.delete(controller);
    }
  }
}
