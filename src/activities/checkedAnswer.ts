/**
 * An item's answer checked against the JSON Schema it asks for, and repaired while it is not valid: the same
 * request again with the invalid answer and its errors appended, up to `repairAttempts` times. Repairs are
 * part of the item's own work, not Temporal retries: an attempt that ends mid-way (a killed worker, a
 * transient error) starts the item over, since nothing about a repair is recorded before the item's result.
 */
import type { BatchLine, BatchOutputLine } from '../shared/contracts';
import {
  answerText,
  repairBody,
  type JsonSchema,
  type OutputValidator,
  type OutputVerdict,
} from '../shared/structuredOutput';
import { usageOf, type Usage } from './chunkSummary';
import type { ProviderResponse } from './provider';

/** An item being worked on, and the result line it ends with if a call of its fails for good. */
export interface Item {
  line: BatchLine;
  fail: (code: string, message: string) => BatchOutputLine;
}

/** One request to the provider, through the lane; undefined when the item was settled otherwise (or stopped). */
export type Ask = (request: BatchLine) => Promise<ProviderResponse | undefined>;

export interface CheckedAnswer {
  /** The last answer. */
  res: ProviderResponse;
  /** Present when the line asks for a schema: the last answer's verdict. */
  verdict?: OutputVerdict;
  repairs: number;
  /** Tokens of every call: the first answer's and its repairs'. */
  usage: Usage;
}

export interface OutputCheck {
  validator: OutputValidator;
  schema: JsonSchema | undefined;
  repairAttempts: number;
}

export async function checkedAnswer(ask: Ask, line: BatchLine, check: OutputCheck): Promise<CheckedAnswer | undefined> {
  const usage: Usage = { tokensIn: 0, tokensOut: 0 };
  let request = line;
  for (let repairs = 0; ; repairs++) {
    const res = await ask(request);
    if (!res) return undefined;
    const spent = usageOf(res.body);
    usage.tokensIn += spent.tokensIn;
    usage.tokensOut += spent.tokensOut;
    if (!check.schema) return { res, repairs, usage };
    const text = answerText(line.url, res.body);
    const verdict = check.validator.check(check.schema, text);
    if (verdict.valid || repairs >= check.repairAttempts) return { res, verdict, repairs, usage };
    request = { ...request, body: repairBody(line.url, request.body, text ?? '', verdict.errors) };
  }
}
