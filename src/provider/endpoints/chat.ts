import { requestDigest } from '../canonical';
import { generateAnswer, type AnswerFormat, type GeneratedAnswer } from '../content/answer';
import { structuredVerdict } from '../content/invalidOutput';
import { DEFAULT_MAX_TOKENS } from '../content/prose';
import { callId, nowSeconds } from '../ids';
import { countPromptTokens, type CountableMessage } from '../tokens';
import { chatRequestSchema, contentText, type ChatRequest } from './schemas';
import { DEFAULT_ANSWER_SETTINGS, type AnswerSettings, type PreparedRequest } from './types';
import { parseBody } from './validation';

export const CHAT_ENDPOINT = '/v1/chat/completions';

export function prepareChat(body: unknown, settings: AnswerSettings = DEFAULT_ANSWER_SETTINGS): PreparedRequest {
  const request = parseBody(chatRequestSchema, body);
  // Streaming is transport, not content: a streamed answer equals the plain one.
  const { stream: _stream, stream_options: _streamOptions, ...content } = body as Record<string, unknown>;
  const digest = requestDigest(CHAT_ENDPOINT, content);
  const messages: CountableMessage[] = request.messages.map((m) => ({
    role: m.role,
    text: contentText(m.content),
    name: m.name,
  }));
  const n = request.n ?? 1;
  const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? undefined;
  const promptTokens = countPromptTokens(messages);
  const format = answerFormat(request);
  const structured =
    format.type === 'json_schema' ? structuredVerdict(digest, messages, settings.invalidOutputRate) : undefined;
  const invalid = structured?.invalid === true;
  return {
    endpoint: CHAT_ENDPOINT,
    digest,
    // Like OpenAI, the rate limiter charges the worst case before the answer exists.
    estimatedTokens: promptTokens + n * (maxTokens ?? DEFAULT_MAX_TOKENS),
    stream: request.stream === true,
    includeStreamUsage: request.stream_options?.include_usage === true,
    structured,
    respond: () => {
      const answers: GeneratedAnswer[] = [];
      for (let i = 0; i < n; i++) {
        answers.push(generateAnswer({ digest, messages, maxTokens, format, invalid }, i));
      }
      const completionTokens = answers.reduce((sum, a) => sum + a.tokens, 0);
      return {
        id: callId('chatcmpl-', digest),
        object: 'chat.completion',
        created: nowSeconds(),
        model: request.model,
        choices: answers.map((answer, index) => ({
          index,
          message: { role: 'assistant', content: answer.text, refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: answer.finishReason,
        })),
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: completionTokens,
          total_tokens: promptTokens + completionTokens,
          prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
          completion_tokens_details: {
            reasoning_tokens: 0,
            audio_tokens: 0,
            accepted_prediction_tokens: 0,
            rejected_prediction_tokens: 0,
          },
        },
        service_tier: 'default',
        system_fingerprint: 'fp_simulated',
      };
    },
  };
}

function answerFormat(request: ChatRequest): AnswerFormat {
  const format = request.response_format;
  if (format?.type === 'json_schema') return { type: 'json_schema', schema: format.json_schema.schema };
  if (format?.type === 'json_object') return { type: 'json_object' };
  return { type: 'text' };
}
