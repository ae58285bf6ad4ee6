import { requestDigest } from './canonical';
import type { LineResult } from './batches/batchRecords';
import { prepareRequest } from './endpoints/registry';
import type { AnswerSettings } from './endpoints/types';
import { randomId } from './ids';
import { ApiError } from './openaiErrors';
import type { StatsCollector } from './stats';

/**
 * Runs one native-batch line through the realtime handler, minus rate limits
 * and faults. An invalid body becomes the same 400 the realtime endpoint
 * would send, recorded per request instead of failing the batch. Answers follow
 * the same knobs as realtime ones (`settings`, read per line), so a body gets
 * the same content either way; they are not in the `structured` stats.
 */
export function batchLineExecutor(
  stats: StatsCollector,
  settings: () => AnswerSettings,
): (endpoint: string, body: unknown) => LineResult {
  return (endpoint, body) => {
    const callKey = requestDigest(endpoint, body);
    stats.bodies.recordCall(callKey);
    const requestId = randomId('req_', 16);
    try {
      const responseBody = prepareRequest(endpoint, body, settings()).respond();
      stats.bodies.recordSuccess(callKey);
      return { statusCode: 200, requestId, body: responseBody };
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      return { statusCode: err.status, requestId, body: err.toBody() as unknown as Record<string, unknown> };
    }
  };
}
