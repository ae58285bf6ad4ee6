/** One request to an OpenAI-compatible endpoint through the official client. */
import type OpenAI from 'openai';
import type { BatchLine } from '../shared/contracts';

export interface ProviderResponse {
  statusCode: number;
  requestId: string;
  body: unknown;
  headers: Headers;
}

/** Posts the line's body verbatim to its endpoint (the path is relative to the client's baseURL, which ends in /v1). */
export async function callProvider(openai: OpenAI, line: BatchLine, signal?: AbortSignal): Promise<ProviderResponse> {
  const path = line.url.replace(/^\/v1/, '');
  const { data, response } = await openai.post<unknown>(path, { body: line.body, signal }).withResponse();
  return {
    statusCode: response.status,
    requestId: response.headers.get('x-request-id') ?? '',
    body: data,
    headers: response.headers,
  };
}
