/** The result lines the chunk activity writes: a provider's answer, or an error of its own or the provider's. */
import type { BatchLine, BatchOutputLine, ResultNotes } from '../shared/contracts';
import { ItemErrorCode } from '../shared/failures';
import { describeErrors } from '../shared/structuredOutput';
import type { CheckedAnswer } from './checkedAnswer';
import type { ProviderResponse } from './provider';

export const resultId = (batchId: string, customId: string): string => `${batchId}:${customId}`;

export function errorLine(batchId: string, line: BatchLine, code: string, message: string): BatchOutputLine {
  return { id: resultId(batchId, line.custom_id), custom_id: line.custom_id, response: null, error: { code, message } };
}

export const providerAnswer = (res: ProviderResponse) => ({
  status_code: res.statusCode,
  request_id: res.requestId,
  body: res.body,
});

/** The result line of the provider's answer to `line`. */
export function answerLine(
  batchId: string,
  line: BatchLine,
  res: ProviderResponse,
  notes?: ResultNotes,
): BatchOutputLine {
  return {
    id: resultId(batchId, line.custom_id),
    custom_id: line.custom_id,
    response: providerAnswer(res),
    error: null,
    ...(notes ? { llmbatch: notes } : {}),
  };
}

/** What a checked answer adds to its line: its repairs, and the tokens of all its calls when there were several. */
export function checkedNotes(a: CheckedAnswer): ResultNotes | undefined {
  if (!a.verdict) return undefined;
  return a.repairs > 0 ? { repairs: a.repairs, usage: a.usage } : { repairs: 0 };
}

/** The result line of a checked answer: the answer when valid, else an `invalid_output` dead letter. */
export function checkedLine(batchId: string, line: BatchLine, a: CheckedAnswer): BatchOutputLine {
  const notes = checkedNotes(a);
  if (!a.verdict || a.verdict.valid) return answerLine(batchId, line, a.res, notes);
  const errors = describeErrors(a.verdict.errors);
  const message = `the answer is not valid against its JSON Schema after ${a.repairs} repairs: ${errors}`;
  const dead = errorLine(batchId, line, ItemErrorCode.InvalidOutput, message);
  return { ...dead, llmbatch: { ...notes, usage: a.usage, errors: a.verdict.errors } };
}
