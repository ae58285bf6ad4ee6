/** How the chunk activity bounds its work: the process's request slots, and the chunk's own item concurrency. */
import type { Sema } from 'async-sema';

/** Runs `work` holding one of the process's request slots; gives up if cancelled while waiting. */
export async function withSlot<T>(slots: Sema, signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  await slots.acquire();
  try {
    if (signal.aborted) throw signal.reason ?? new Error('cancelled');
    return await work();
  } finally {
    slots.release();
  }
}

/** Runs `work` over items with at most `limit` in flight. */
export async function forEachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++] as T);
  });
  await Promise.all(lanes);
}
