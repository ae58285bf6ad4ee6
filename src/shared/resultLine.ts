/** The result lines llmbatch writes: OpenAI's batch output line format, plus what llmbatch adds of its own. */
import type { OutputError } from './structuredOutput';

/** A provider's answer as a result line holds it. */
export interface ProviderAnswer {
  status_code: number;
  request_id: string;
  body: unknown;
}

/** What llmbatch adds to a result line of its own; absent on a plain answer. */
export interface ResultNotes {
  /** Repair requests sent for this item (structured outputs: every validated line says, 0 included). */
  repairs?: number;
  /** Tokens of every call the item made (repairs, pipeline steps), when more than the one answer. */
  usage?: { tokensIn: number; tokensOut: number };
  /** `invalid_output`: why the last answer is not valid against the schema. */
  errors?: OutputError[];
  /** Pipelines: the step an item stopped at. */
  step?: string;
}

/** One result in OpenAI's batch output line format (also used for error lines). */
export interface BatchOutputLine {
  id: string;
  custom_id: string;
  response: ProviderAnswer | null;
  error: { code: string; message: string } | null;
  llmbatch?: ResultNotes;
  /** Pipelines: each step's answer, by step name, in step order (those before a failed step only). */
  steps?: Record<string, ProviderAnswer>;
}
