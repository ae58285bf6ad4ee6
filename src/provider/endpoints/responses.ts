import { requestDigest } from '../canonical';
import { generateAnswer, type AnswerFormat } from '../content/answer';
import { structuredVerdict } from '../content/invalidOutput';
import { DEFAULT_MAX_TOKENS } from '../content/prose';
import { callId, nowSeconds } from '../ids';
import { countPromptTokens, type CountableMessage } from '../tokens';
import { contentText, responsesRequestSchema, type ResponsesRequest } from './schemas';
import { DEFAULT_ANSWER_SETTINGS, type AnswerSettings, type PreparedRequest } from './types';
import { parseBody } from './validation';

export const RESPONSES_ENDPOINT = '/v1/responses';

/** A minimal Responses API: one assistant message per call, no tools, no state. */
export function prepareResponses(body: unknown, settings: AnswerSettings = DEFAULT_ANSWER_SETTINGS): PreparedRequest {
  const request = parseBody(responsesRequestSchema, body);
  const digest = requestDigest(RESPONSES_ENDPOINT, body);
  const messages = toMessages(request);
  const maxTokens = request.max_output_tokens ?? undefined;
  const inputTokens = countPromptTokens(messages);
  const format = answerFormat(request);
  const structured =
    format.type === 'json_schema' ? structuredVerdict(digest, messages, settings.invalidOutputRate) : undefined;
  const invalid = structured?.invalid === true;
  return {
    endpoint: RESPONSES_ENDPOINT,
    digest,
    estimatedTokens: inputTokens + (maxTokens ?? DEFAULT_MAX_TOKENS),
    stream: false,
    includeStreamUsage: false,
    structured,
    respond: () => {
      const answer = generateAnswer({ digest, messages, maxTokens, format, invalid }, 0);
      const truncated = answer.finishReason === 'length';
      return {
        id: callId('resp_', digest),
        object: 'response',
        created_at: nowSeconds(),
        status: truncated ? 'incomplete' : 'completed',
        incomplete_details: truncated ? { reason: 'max_output_tokens' } : null,
        error: null,
        model: request.model,
        instructions: request.instructions ?? null,
        max_output_tokens: maxTokens ?? null,
        output: [
          {
            type: 'message',
            id: callId('msg_', digest),
            status: truncated ? 'incomplete' : 'completed',
            role: 'assistant',
            content: [{ type: 'output_text', text: answer.text, annotations: [], logprobs: [] }],
          },
        ],
        parallel_tool_calls: true,
        tool_choice: 'auto',
        tools: [],
        usage: {
          input_tokens: inputTokens,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: answer.tokens,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: inputTokens + answer.tokens,
        },
      };
    },
  };
}

function toMessages(request: ResponsesRequest): CountableMessage[] {
  const messages: CountableMessage[] = [];
  if (request.instructions) messages.push({ role: 'developer', text: request.instructions });
  if (typeof request.input === 'string') {
    messages.push({ role: 'user', text: request.input });
  } else {
    for (const item of request.input) messages.push({ role: item.role, text: contentText(item.content) });
  }
  return messages;
}

function answerFormat(request: ResponsesRequest): AnswerFormat {
  const format = request.text?.format;
  if (format?.type === 'json_schema') return { type: 'json_schema', schema: format.schema };
  if (format?.type === 'json_object') return { type: 'json_object' };
  return { type: 'text' };
}
