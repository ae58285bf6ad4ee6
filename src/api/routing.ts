/**
 * Which mode runs a batch. `realtime` and `native` are taken as asked; `auto` picks native when the
 * provider has a Batch API, the batch is big enough to be worth the wait, and its deadline leaves room
 * for the provider's completion window; otherwise realtime. The reason goes into progress and the
 * workflow's summary in the Web UI. Part of a batch's plan: only plan.ts calls these.
 */
import type { NativeConfig } from '../config';
import type { BatchMode } from '../shared/contracts';
import { HttpError } from './httpError';

export interface Route {
  mode: 'realtime' | 'native';
  /** Why, when auto chose; null when the mode was asked for. */
  reason: string | null;
  /** Auto native batches keep their deadline, so that they can finish in realtime if it comes near. */
  deadlineMs?: number;
}

const HOUR = 3_600_000;
const hours = (ms: number): string => `${Math.round((ms / HOUR) * 10) / 10} h`;

/** What auto looks at: the item count and whether the batch uses one model (a provider batch holds one). */
export interface BatchShape {
  total: number;
  mixedModels: boolean;
}

/** The requests no batch can meet, whatever its lines: a deadline that has passed, native without a Batch API. */
export function refuseImpossibleMode(
  asked: BatchMode | undefined,
  deadline: string | undefined,
  native: NativeConfig,
  nowMs: number,
): void {
  if (deadline !== undefined && Date.parse(deadline) <= nowMs)
    throw new HttpError(400, `invalid batch: options.deadline: ${deadline} has passed`);
  if ((asked ?? native.defaultMode) === 'native' && !native.enabled) {
    throw new HttpError(
      400,
      'invalid batch: options.mode: native needs a provider Batch API, and LLMBATCH_NATIVE is off',
    );
  }
}

export function chooseMode(
  asked: BatchMode | undefined,
  shape: BatchShape,
  deadline: string | undefined,
  native: NativeConfig,
  nowMs: number,
): Route {
  refuseImpossibleMode(asked, deadline, native, nowMs);
  const { total } = shape;
  const mode = asked ?? native.defaultMode;
  const deadlineMs = deadline === undefined ? undefined : Date.parse(deadline);
  if (mode === 'realtime' || mode === 'native') return { mode, reason: null };
  if (!native.enabled) return { mode: 'realtime', reason: 'auto: the provider has no Batch API (LLMBATCH_NATIVE=off)' };
  if (shape.mixedModels)
    return { mode: 'realtime', reason: 'auto: the batch uses more than one model, and a provider batch holds one' };
  if (total < native.autoMinItems) {
    return {
      mode: 'realtime',
      reason:
        `auto: ${total} items, under the ${native.autoMinItems} (LLMBATCH_AUTO_NATIVE_MIN_ITEMS) ` +
        "worth a provider batch's wait",
    };
  }
  const windowMs = native.windowHours * HOUR;
  if (deadlineMs !== undefined && deadlineMs - nowMs < windowMs + native.realtimeReserveMs) {
    return {
      mode: 'realtime',
      reason:
        `auto: the deadline in ${hours(deadlineMs - nowMs)} is too near for the provider's ` +
        `${native.windowHours} h window plus ${hours(native.realtimeReserveMs)} in reserve`,
    };
  }
  const room =
    deadlineMs === undefined
      ? 'no deadline'
      : `the deadline in ${hours(deadlineMs - nowMs)} leaves room for the provider's ${native.windowHours} h window`;
  return { mode: 'native', reason: `auto: ${total} items and ${room}: the Batch API at its batch price`, deadlineMs };
}
