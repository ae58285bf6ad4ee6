/**
 * Server-sent events for `stream: true` chat completions, built from the same
 * completion a plain call returns: the deltas concatenate to its content.
 */
interface Completion {
  id: string;
  created: number;
  model: string;
  choices: { index: number; message: { content: string }; finish_reason: string }[];
  usage: unknown;
  system_fingerprint: string;
}

export function chatStreamText(completion: Completion, includeUsage: boolean): string {
  const base = {
    id: completion.id,
    object: 'chat.completion.chunk',
    created: completion.created,
    model: completion.model,
    system_fingerprint: completion.system_fingerprint,
  };
  const events: unknown[] = [];
  for (const choice of completion.choices) {
    events.push({
      ...base,
      choices: [
        { index: choice.index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null },
      ],
    });
    for (const piece of pieces(choice.message.content)) {
      events.push({
        ...base,
        choices: [{ index: choice.index, delta: { content: piece }, logprobs: null, finish_reason: null }],
      });
    }
    events.push({
      ...base,
      choices: [{ index: choice.index, delta: {}, logprobs: null, finish_reason: choice.finish_reason }],
    });
  }
  if (includeUsage) events.push({ ...base, choices: [], usage: completion.usage });
  return `${events.map((event) => `data: ${JSON.stringify(event)}\n\n`).join('')}data: [DONE]\n\n`;
}

/** Splits text into chunks of a few words, keeping every character. */
function pieces(text: string): string[] {
  return text.match(/\S*\s*\S*\s*\S*\s*/g)?.filter((piece) => piece !== '') ?? [];
}
