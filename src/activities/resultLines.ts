/** The result lines the chunk activity writes: a provider's answer, or an error of its own or the provider's. */
import type { BatchLine, BatchOutputLine } from '../shared/contracts';
import type { ProviderResponse } from './provider';

const resultId = (batchId: string, customId: string): string => `${batchId}:${customId}`;

export function errorLine(batchId: string, line: BatchLine, code: string, message: string): BatchOutputLine {
  return { id: resultId(batchId, line.custom_id), custom_id: line.custom_id, response: null, error: { code, message } };
}

/** The result line of the provider's answer to `line`. */
export function answerLine(batchId: string, line: BatchLine, res: ProviderResponse): BatchOutputLine {
  return {
    id: resultId(batchId, line.custom_id),
    custom_id: line.custom_id,
    response: { status_code: res.statusCode, request_id: res.requestId, body: res.body },
    error: null,
  };
}
