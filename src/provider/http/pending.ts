import type { Response } from 'express';

/**
 * Responses the simulator is deliberately sitting on: ones waiting out their
 * simulated latency and ones that hang forever. Tracked so a client that
 * gives up frees them at once, and so close() can end them all promptly.
 */
export class PendingResponses {
  private readonly waiting = new Map<NodeJS.Timeout, (answered: boolean) => void>();
  private readonly hung = new Set<Response>();
  private closing = false;

  /** Resolves true after `ms`, or false as soon as the client disconnects or the simulator closes. */
  delay(ms: number, res: Response): Promise<boolean> {
    if (this.closing || res.writableEnded || res.destroyed) return Promise.resolve(false);
    if (ms <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (answered: boolean): void => {
        clearTimeout(timer);
        this.waiting.delete(timer);
        res.off('close', onClose);
        resolve(answered);
      };
      const onClose = (): void => finish(false);
      const timer = setTimeout(() => finish(true), ms);
      this.waiting.set(timer, finish);
      res.on('close', onClose);
    });
  }

  /** Never answer; forget the response once the client hangs up. */
  hold(res: Response): void {
    if (this.closing) {
      res.destroy();
      return;
    }
    this.hung.add(res);
    res.on('close', () => this.hung.delete(res));
  }

  get hungCount(): number {
    return this.hung.size;
  }

  closeAll(): void {
    this.closing = true;
    for (const finish of [...this.waiting.values()]) finish(false);
    for (const res of this.hung) res.destroy();
    this.hung.clear();
  }
}
