import { randomId } from '../ids';
import type { BatchUsage } from '../openaiObjects';

/** What the shared request handler produced for one line. */
export interface LineResult {
  statusCode: number;
  requestId: string;
  body: Record<string, unknown>;
}

/** An output (200) or error-file (non-200) line, in OpenAI's batch output format. */
export function resultRecord(customId: string, result: LineResult): string {
  return `${JSON.stringify({
    id: randomId('batch_req_', 16),
    custom_id: customId,
    response: { status_code: result.statusCode, request_id: result.requestId, body: result.body },
    error: null,
  })}\n`;
}

export function expiredRecord(customId: string): string {
  return `${JSON.stringify({
    id: randomId('batch_req_', 16),
    custom_id: customId,
    response: null,
    error: {
      code: 'batch_expired',
      message: 'This request could not be executed before the completion window expired.',
    },
  })}\n`;
}

/** Sums chat (prompt/completion) or responses (input/output) usage into the batch total. */
export function addUsage(total: BatchUsage, body: Record<string, unknown>): void {
  const usage = body.usage as Record<string, unknown> | undefined;
  if (usage === undefined) return;
  const num = (value: unknown): number => (typeof value === 'number' ? value : 0);
  const input = num(usage.prompt_tokens ?? usage.input_tokens);
  const output = num(usage.completion_tokens ?? usage.output_tokens);
  total.input_tokens += input;
  total.output_tokens += output;
  total.total_tokens += input + output;
}
