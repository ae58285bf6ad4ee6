import { invalidRequest } from '../openaiErrors';
import { CHAT_ENDPOINT, prepareChat } from './chat';
import { EMBEDDINGS_ENDPOINT, prepareEmbeddings } from './embeddings';
import { prepareResponses, RESPONSES_ENDPOINT } from './responses';
import { DEFAULT_ANSWER_SETTINGS, type AnswerSettings, type PreparedRequest } from './types';

/** The model endpoints, shared by the realtime routes and native batch lines. */
const PREPARERS: ReadonlyMap<string, (body: unknown, settings: AnswerSettings) => PreparedRequest> = new Map([
  [CHAT_ENDPOINT, prepareChat],
  [EMBEDDINGS_ENDPOINT, prepareEmbeddings],
  [RESPONSES_ENDPOINT, prepareResponses],
]);

export const MODEL_ENDPOINTS: readonly string[] = [...PREPARERS.keys()];

/** Validates a body for an endpoint; throws the OpenAI-shaped 400 when invalid. */
export function prepareRequest(
  endpoint: string,
  body: unknown,
  settings: AnswerSettings = DEFAULT_ANSWER_SETTINGS,
): PreparedRequest {
  const prepare = PREPARERS.get(endpoint);
  if (prepare === undefined) throw invalidRequest(`Unsupported endpoint ${endpoint}.`, 'url', 'invalid_value');
  return prepare(body, settings);
}
