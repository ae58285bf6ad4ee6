import { ApplicationFailure } from '@temporalio/common';

/** The ApplicationFailure an activity call rejects with; throws if it resolves or rejects with anything else. */
export async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApplicationFailure) return err;
    throw err;
  }
  throw new Error('expected the activity to fail');
}
