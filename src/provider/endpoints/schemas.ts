import { z } from 'zod';

/** Request schemas: loose objects, because clients send many params the simulator ignores. */

const textPart = z.looseObject({ type: z.string(), text: z.string().optional() });
const messageContent = z.union([z.string(), z.array(textPart)]);
const maxTokens = z.number().int().min(1).nullish();

const chatMessage = z
  .looseObject({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
    content: messageContent.nullish(),
    name: z.string().optional(),
  })
  .superRefine((message, ctx) => {
    // Only an assistant turn (e.g. one carrying tool_calls) may omit content.
    if (message.role !== 'assistant' && (message.content === undefined || message.content === null)) {
      ctx.addIssue({ code: 'custom', path: ['content'], message: 'content is required' });
    }
  });

const formatSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    json_schema: z.looseObject({ name: z.string(), schema: z.unknown() }),
  }),
]);

export const chatRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(chatMessage).min(1),
  n: z.number().int().min(1).max(128).nullish(),
  max_tokens: maxTokens,
  max_completion_tokens: maxTokens,
  temperature: z.number().min(0).max(2).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  response_format: formatSchema.nullish(),
});
export type ChatRequest = z.output<typeof chatRequestSchema>;

const tokenArray = z.array(z.number().int().min(0)).min(1);
export const embeddingsRequestSchema = z.looseObject({
  model: z.string().min(1),
  input: z.union(
    [z.string().min(1), z.array(z.string().min(1)).min(1).max(2048), tokenArray, z.array(tokenArray).min(1).max(2048)],
    { error: 'expected a non-empty string, an array of non-empty strings, or token arrays' },
  ),
  dimensions: z.number().int().min(1).nullish(),
  encoding_format: z.enum(['float', 'base64']).nullish(),
});
export type EmbeddingsRequest = z.output<typeof embeddingsRequestSchema>;

const responsesInputItem = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: messageContent,
});

const responsesFormat = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({ type: z.literal('json_schema'), name: z.string(), schema: z.unknown() }),
]);

export const responsesRequestSchema = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string().min(1), z.array(responsesInputItem).min(1)]),
  instructions: z.string().nullish(),
  max_output_tokens: maxTokens,
  // Streaming the Responses API is not simulated; refuse it rather than answer in the wrong format.
  stream: z.literal(false, { error: 'streaming is not supported by the simulator on /v1/responses' }).nullish(),
  text: z.looseObject({ format: responsesFormat.optional() }).nullish(),
});
export type ResponsesRequest = z.output<typeof responsesRequestSchema>;

/** Flattens message content (a string or text parts) into plain text. */
export function contentText(content: string | readonly { text?: string | undefined }[] | null | undefined): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => part.text ?? '').join('');
}
