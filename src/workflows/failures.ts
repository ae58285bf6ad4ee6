/**
 * Reading a failure's cause chain (child workflow → activity → application), shared by the batch workflows.
 * The failure types it finds are cataloged in src/shared/failures.ts.
 */
import { ApplicationFailure } from '@temporalio/workflow';

/** The first named ApplicationFailure in the cause chain (child → activity → application). */
export function failureType(err: unknown): string | undefined {
  for (let e: unknown = err; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    if (e instanceof ApplicationFailure && e.type) return e.type;
  }
  return undefined;
}

export function failureReason(err: unknown): string {
  for (let e: unknown = err; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    if (e instanceof ApplicationFailure) return e.message;
  }
  return err instanceof Error ? err.message : String(err);
}
