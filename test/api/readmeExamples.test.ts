/**
 * The README's examples of structured outputs and pipelines, run as written against a real stack (dev server,
 * worker, simulator, API). Each example is the sh block after an `<!-- example: <name> ... -->` comment: a
 * `curl -s http://127.0.0.1:3000<path> -H '<header>' -d @- <<'EOF'` whose heredoc is the body, sent byte for byte
 * (only the origin is rewritten to the test API's), then the `curl -s http://127.0.0.1:3000/...<id>...` reads.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import type { BatchOutputLine, BatchProgress } from '../../src/shared/contracts';
import { renderStep, type Pipeline, type PipelineItem } from '../../src/shared/pipelines';
import { answerText } from '../../src/shared/structuredOutput';
import { useApiStack } from '../helpers/apiStack';

const README = readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
/** Where the README says the API is (npm start, local mode). */
const ORIGIN = 'http://127.0.0.1:3000';

interface Example {
  /** The POST's path, header and body text, exactly as in the README. */
  path: string;
  header: [string, string];
  body: string;
  /** The reads after it: paths with `<id>` for the created batch's id. */
  reads: string[];
  /** What follows the heredoc's EOF up to the next command: a documented answer, or comments. */
  after: string;
}

/** The sh block after `<!-- example: name ... -->`, taken apart. */
function example(name: string): Example {
  const marker = new RegExp(`<!-- example: ${name}(?: [^>]*)? -->`).exec(README)?.index;
  if (marker === undefined) throw new Error(`README has no example ${name}`);
  const block = /```sh\n([\s\S]*?)\n```/.exec(README.slice(marker))?.[1];
  if (block === undefined) throw new Error(`example ${name} has no sh block`);
  const post = /^curl -s (\S+) -H '([^:']+): ([^']+)' -d @- <<'EOF'\n([\s\S]*?)\nEOF\n/.exec(block);
  if (!post) throw new Error(`example ${name}: no curl POST with a heredoc body`);
  const [whole, url, headerName, headerValue, body] = post as unknown as [string, string, string, string, string];
  if (!url.startsWith(ORIGIN)) throw new Error(`example ${name}: ${url} is not on ${ORIGIN}`);
  const rest = block.slice(whole.length);
  const reads = [...rest.matchAll(/^curl -s (\S+)/gm)].map((m) => {
    const read = m[1] as string;
    if (!read.startsWith(ORIGIN)) throw new Error(`example ${name}: ${read} is not on ${ORIGIN}`);
    return read.slice(ORIGIN.length);
  });
  return { path: url.slice(ORIGIN.length), header: [headerName, headerValue], body, reads, after: rest };
}

const stack = useApiStack();

async function send(ex: Example): Promise<Response> {
  return fetch(`${stack.base}${ex.path}`, { method: 'POST', headers: { [ex.header[0]]: ex.header[1] }, body: ex.body });
}

async function finished(id: string): Promise<BatchProgress> {
  for (const end = Date.now() + 120_000; Date.now() < end; await new Promise((r) => setTimeout(r, 300))) {
    const progress = (await (await fetch(`${stack.base}/batches/${id}`)).json()) as BatchProgress;
    if (progress.status !== 'running') return progress;
  }
  throw new Error(`batch ${id} did not finish`);
}

/** The example's reads, run for the batch: progress (JSON) and results (JSON lines). */
async function reads(ex: Example, id: string): Promise<{ progress: BatchProgress; results: BatchOutputLine[] }> {
  expect(ex.reads).toEqual(['/batches/<id>', '/batches/<id>/results']);
  const [progressRes, resultsRes] = await Promise.all(
    ex.reads.map((read) => fetch(`${stack.base}${read.replace('<id>', id)}`)),
  );
  expect([progressRes?.status, resultsRes?.status]).toEqual([200, 200]);
  const text = await resultsRes!.text();
  const results = text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as BatchOutputLine);
  return { progress: (await progressRes!.json()) as BatchProgress, results };
}

describe('README examples, run as written against the simulator', () => {
  test('structured outputs: sentiment classification with options.outputSchema', async () => {
    const ex = example('structured');
    const request = JSON.parse(ex.body) as {
      options: { outputSchema: Record<string, unknown> };
      requests: Array<{ custom_id: string }>;
    };
    const res = await send(ex);
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string; total: number; mode: string };
    expect(created).toMatchObject({ total: request.requests.length, mode: 'realtime' });
    await finished(created.id);
    const { progress, results } = await reads(ex, created.id);
    expect(progress).toMatchObject({ status: 'completed', succeeded: 3, failed: 0, invalidOutput: 0, repaired: 0 });
    expect(ex.after).toMatch(/"repaired": 0, "invalidOutput": 0/);

    const validate = new Ajv2020({ strict: false }).compile(request.options.outputSchema);
    expect(results.map((r) => r.custom_id).sort()).toEqual(request.requests.map((r) => r.custom_id).sort());
    const labels: Record<string, unknown> = {};
    for (const line of results) {
      expect(line.error).toBeNull();
      expect(line.response?.status_code).toBe(200);
      expect(line.llmbatch).toEqual({ repairs: 0 });
      const answer = JSON.parse(answerText('/v1/chat/completions', line.response?.body) ?? '') as {
        sentiment: string;
      };
      expect(validate(answer)).toBe(true);
      labels[line.custom_id] = answer.sentiment;
      // The README quotes r1's answer as the simulator gives it.
      if (line.custom_id === 'r1') expect(README).toContain(`\`${JSON.stringify(answer)}\``);
    }
    // The simulator's lexicon reads the reviews' sentiment: the README's sample is what it answers.
    expect(labels).toEqual({ r1: 'positive', r2: 'negative', r3: 'neutral' });
  }, 180_000);

  test('pipelines: headline → intro, each intro written from its own headline', async () => {
    const ex = example('pipeline');
    const request = JSON.parse(ex.body) as Pipeline & { items: PipelineItem[] };
    expect(request.steps.map((s) => s.name)).toEqual(['headline', 'intro']);
    const res = await send(ex);
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string; total: number; mode: string; modeReason: string };
    expect(created).toMatchObject({ total: request.items.length, mode: 'realtime' });
    expect(created.modeReason).toMatch(/pipelines run in realtime mode/);
    await finished(created.id);
    const { progress, results } = await reads(ex, created.id);
    expect(progress).toMatchObject({ status: 'completed', succeeded: 2, failed: 0 });
    expect(progress.steps).toEqual({ headline: { succeeded: 2, failed: 0 }, intro: { succeeded: 2, failed: 0 } });

    const [headline, intro] = request.steps as [Pipeline['steps'][0], Pipeline['steps'][0]];
    const validate = new Ajv2020({ strict: false }).compile(headline.outputSchema!);
    expect(results.map((r) => r.custom_id).sort()).toEqual(request.items.map((i) => i.custom_id).sort());
    for (const line of results) {
      expect(line.error).toBeNull();
      expect(Object.keys(line.steps ?? {})).toEqual(['headline', 'intro']);
      expect(line.response).toEqual(line.steps?.intro);
      const headlineText = answerText('/v1/chat/completions', line.steps?.headline?.body) ?? '';
      const title = JSON.parse(headlineText) as unknown;
      expect(validate(title)).toBe(true);
      // The README quotes each headline as the simulator gives it.
      expect(README).toContain(`\`${JSON.stringify(title)}\``);
      expect(typeof answerText('/v1/chat/completions', line.steps?.intro?.body)).toBe('string');
      // The intro the simulator answered was asked with this item's own headline in it.
      const item = request.items.find((i) => i.custom_id === line.custom_id)!;
      const rendered = renderStep(intro, { item, steps: { headline: { text: headlineText, json: title } } });
      if (!rendered.ok) throw new Error(rendered.message);
      expect(JSON.stringify(rendered.body)).toContain((title as { title: string }).title.replace(/"/g, '\\"'));
      expect(stack.sim.callsForBody(rendered.body).successes).toBe(1);
    }
  }, 180_000);

  test('pipelines: the refused example gets the 400 the README shows, and creates nothing', async () => {
    const ex = example('pipeline-refused');
    const before = ((await (await fetch(`${stack.base}/batches?limit=100`)).json()) as { data: unknown[] }).data.length;
    const res = await send(ex);
    expect(res.status).toBe(400);
    const answer = (await res.text()).trim();
    // The README shows the answer as a comment line after the heredoc: `# 400 {"error": ...}`.
    expect(ex.after.trim()).toMatch(/^# 400 \{/);
    const documented = ex.after.trim().replace(/^# 400 /, '');
    expect(JSON.parse(answer)).toEqual(JSON.parse(documented));
    expect(answer).toBe(documented);
    const after = ((await (await fetch(`${stack.base}/batches?limit=100`)).json()) as { data: unknown[] }).data.length;
    expect(after).toBe(before);
  }, 60_000);
});
