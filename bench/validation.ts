/**
 * Scenario 8: what checking structured outputs costs. The same realtime batch of classification requests on one
 * stack (zero-latency simulator), once asking for JSON and taking it unchecked (`response_format: json_object`),
 * once with the batch's `options.outputSchema` (each answer parsed and validated with ajv in the chunk activity);
 * the two take turns, round by round, and the figure is the worker's CPU per request. The simulator answers every
 * schema request validly here, so no repair is needed: the difference is the validation alone. One more run with
 * 10% of first answers invalid, right after one more checked run with none (its baseline), shows what repairs cost:
 * their provider calls and the worker's CPU.
 */
import { makeReviewRequests } from '../examples/reviews';
import type { BatchLine } from '../src/shared/contracts';
import { others } from './explain';
import { int, md } from './format';
import { median, signed, workerCpuMs } from './observability';
import type { BenchOptions } from './options';
import { runBatch, simConfigure, STORE_LABEL, withStack, type BenchStack, type StoreKind } from './stack';
import { engineSettings, timedBatch, warmUp } from './throughput';

type Say = (m: string) => void;
/** unchecked: lines asking for `json_object`; checked: the batch's `outputSchema`. */
export type Side = 'unchecked' | 'checked';

/** A realistic classification: an enum, a bounded number, an array of strings; strict, like a provider's. */
export const CLASSIFICATION_SCHEMA = {
  type: 'object',
  properties: {
    label: { type: 'string', enum: ['praise', 'complaint', 'mixed', 'other'] },
    confidence: { type: 'number', minimum: 0, maximum: 1 },
    topics: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 40 }, minItems: 1, maxItems: 5 },
  },
  required: ['label', 'confidence', 'topics'],
  additionalProperties: false,
};
/** The repairs run: the share of first answers the simulator makes invalid (half not JSON, half off the schema). */
export const INVALID_OUTPUT_RATE = 0.1;
const PROMPT =
  'Classify the product review. Reply in JSON with "label" (praise, complaint, mixed or other), "confidence" ' +
  '(0 to 1) and "topics" (one to five short strings).';

export interface ValidationRun {
  rps: number;
  workerCpuMs: number;
  /** Provider calls, answers to a json_schema request and corrections (repair asks), at the simulator. */
  calls: number;
  schemaAnswers: number;
  corrections: number;
  /** The batch's own counts. */
  repaired: number;
  invalidOutput: number;
  /** Cores other processes (not the stack's, not the bench's) kept busy during the run: disturbance. */
  otherCores: number;
  /** Mean length of the answers' content (the JSON text), so the two sides' answers can be compared. */
  answerChars: number;
}

export interface ValidationResult {
  n: number;
  store: StoreKind;
  runs: Record<Side, ValidationRun[]>;
  /** Medians over the rounds. */
  workerCpuMsPerRequest: Record<Side, number>;
  rps: Record<Side, number>;
  /** checked / unchecked − 1. */
  cpuChange: number;
  /** A checked run with no invalid answer, then the same with INVALID_OUTPUT_RATE: back to back, same load. */
  repairBaseline: ValidationRun;
  repairs: ValidationRun;
}

/** The classification lines: review texts from examples/reviews.ts, no token cap (a cut answer is not JSON). */
export function classificationLines(n: number, side: Side): BatchLine[] {
  return makeReviewRequests(n, 44).map((line) => {
    const messages = line.body.messages as { role: string; content: string }[];
    const body = { model: line.body.model, messages: [{ role: 'system', content: PROMPT }, ...messages.slice(1)] };
    return { ...line, body: side === 'checked' ? body : { ...body, response_format: { type: 'json_object' } } };
  });
}

const batchOptions = (side: Side): Record<string, unknown> =>
  side === 'checked' ? { outputSchema: CLASSIFICATION_SCHEMA, cache: false } : { cache: false };

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return (await res.json()) as T;
}

/** Mean length of the answers' content in a batch's results (read after the timed interval). */
async function answerChars(api: string, id: string): Promise<number> {
  const res = await fetch(`${api}/batches/${id}/results`);
  const lines = (await res.text()).split('\n').filter(Boolean);
  const chars = lines.map((l) => {
    const body = (JSON.parse(l) as { response?: { body?: { choices?: { message?: { content?: string } }[] } } })
      .response?.body;
    return body?.choices?.[0]?.message?.content?.length ?? 0;
  });
  return chars.reduce((a, b) => a + b, 0) / Math.max(1, chars.length);
}

/** One timed run of one side, its counts checked: every answer once, a repair call for each repair, no dead letter. */
async function run(s: BenchStack, o: BenchOptions, side: Side, name: string, say: Say): Promise<ValidationRun> {
  const n = o.validationLines;
  const engine = engineSettings(o, o.c1, { SIM_SEED: '1' }, s.store);
  const r = await timedBatch(s, o, classificationLines(n, side), engine, say, batchOptions(side));
  const sim = await getJson<{ structured: { answers: number; corrections: number } }>(`${s.simOrigin}/_sim/stats`);
  const progress = await getJson<{ repaired: number; invalidOutput: number }>(`${s.api}/batches/${r.id}`);
  const x: ValidationRun = {
    rps: r.rps,
    workerCpuMs: workerCpuMs(r.cpu, n),
    calls: r.calls,
    schemaAnswers: sim.structured.answers,
    corrections: sim.structured.corrections,
    repaired: progress.repaired,
    invalidOutput: progress.invalidOutput,
    otherCores: others(r.cpu),
    answerChars: await answerChars(s.api, r.id),
  };
  const expected = side === 'checked' ? n + x.repaired : 0;
  if (x.calls !== n + x.repaired || x.corrections !== x.repaired || x.schemaAnswers !== expected || x.invalidOutput)
    throw new Error(`${name}: inconsistent counts ${JSON.stringify(x)} for ${n} lines`);
  say(`${name}: ${x.rps.toFixed(0)} items/s, worker ${x.workerCpuMs.toFixed(3)} CPU ms/request, ${x.repaired} repairs`);
  return x;
}

export async function validationScenario(o: BenchOptions, store: StoreKind, say: Say): Promise<ValidationResult> {
  const engine = engineSettings(o, o.c1, { SIM_SEED: '1' }, store);
  return withStack(engine, o.keepData, async (s) => {
    await warmUp(s, o, o.c1);
    // Both sides' paths (ajv's compiled schema, JSON answers) warmed too.
    for (const side of o.warmup > 0 ? (['unchecked', 'checked'] as const) : [])
      await runBatch(s.api, classificationLines(o.warmup, side), o.pollMs, batchOptions(side));
    const runs: Record<Side, ValidationRun[]> = { unchecked: [], checked: [] };
    for (let i = 1; i <= o.repeats; i++) {
      // Odd rounds start unchecked, even ones checked.
      const order: Side[] = i % 2 === 1 ? ['unchecked', 'checked'] : ['checked', 'unchecked'];
      for (const side of order) runs[side].push(await run(s, o, side, `scenario 8, ${side} (${i}/${o.repeats})`, say));
    }
    const repairBaseline = await run(s, o, 'checked', "scenario 8, checked, the repairs run's baseline", say);
    await simConfigure(s.simOrigin, { invalidOutputRate: INVALID_OUTPUT_RATE });
    const repairs = await run(s, o, 'checked', `scenario 8, checked, ${INVALID_OUTPUT_RATE * 100}% invalid`, say);
    if (repairs.repaired === 0) throw new Error('scenario 8: no repair with invalid answers');
    const mid = (side: Side, f: (x: ValidationRun) => number): number => median(runs[side].map(f));
    const cpu = { unchecked: mid('unchecked', (x) => x.workerCpuMs), checked: mid('checked', (x) => x.workerCpuMs) };
    const result = {
      n: o.validationLines,
      store,
      runs,
      workerCpuMsPerRequest: cpu,
      rps: { unchecked: mid('unchecked', (x) => x.rps), checked: mid('checked', (x) => x.rps) },
      cpuChange: cpu.checked / cpu.unchecked - 1,
      repairBaseline,
      repairs,
    };
    say(
      `scenario 8: worker CPU ${cpu.unchecked.toFixed(3)} unchecked → ${cpu.checked.toFixed(3)} ms/request checked ` +
        `(${signed(result.cpuChange)}); ${repairs.repaired} repairs at ${INVALID_OUTPUT_RATE * 100}% invalid`,
    );
    return result;
  });
}

/** The repairs run's extra worker CPU over its baseline: in all, per item, and per repair. */
function repairCost(r: ValidationResult): { totalMs: number; perItemMs: number; perRepairMs: number } {
  const totalMs = (r.repairs.workerCpuMs - r.repairBaseline.workerCpuMs) * r.n;
  return { totalMs, perItemMs: totalMs / r.n, perRepairMs: totalMs / r.repairs.repaired };
}

/** The summary row of the results table. */
export function validationRow(r: ValidationResult): string[] {
  const cpu = r.workerCpuMsPerRequest;
  return [
    `8 structured outputs: ${int(r.n)} lines, outputSchema vs json_object, ${r.runs.checked.length} rounds each`,
    `${cpu.unchecked.toFixed(3)} worker CPU ms/req unchecked`,
    `${cpu.checked.toFixed(3)} checked`,
    signed(r.cpuChange),
    'reported (no target)',
    '–',
  ];
}

/** The scenario's section of docs/benchmarks.md; `generated` labels a run of this scenario alone. */
export function validationSection(r: ValidationResult, generated = ''): string {
  const line = (label: (i: number) => string) => (x: ValidationRun, i: number) => [
    label(i),
    `${int(x.rps)}`,
    x.workerCpuMs.toFixed(3),
    int(x.calls),
    int(x.answerChars),
    x.otherCores.toFixed(2),
  ];
  const cpu = r.workerCpuMsPerRequest;
  const rep = r.repairs;
  const cost = repairCost(r);
  const rows = [
    ...r.runs.unchecked.map(line((i) => `unchecked, round ${i + 1}`)),
    ...r.runs.checked.map(line((i) => `checked, round ${i + 1}`)),
    ['**median, unchecked**', int(r.rps.unchecked), cpu.unchecked.toFixed(3), '', '', ''],
    ['**median, checked**', int(r.rps.checked), cpu.checked.toFixed(3), '', '', ''],
    ['**change**', signed(r.rps.checked / r.rps.unchecked - 1), signed(r.cpuChange), '', '', ''],
    line(() => 'checked, no invalid answer (the baseline of the next)')(r.repairBaseline, 0),
    line(() => `checked, ${INVALID_OUTPUT_RATE * 100}% of first answers invalid`)(rep, 0),
  ];
  const paired = r.runs.checked.map((x, i) => signed(x.workerCpuMs / (r.runs.unchecked[i]?.workerCpuMs ?? NaN) - 1));
  const head = [
    'run',
    'items/s',
    'worker CPU ms / request',
    'provider calls',
    'answer chars (mean)',
    "other processes' cores",
  ];
  return [
    '## Scenario 8: structured outputs checked and unchecked',
    '',
    ...(generated ? [generated, ''] : []),
    `${int(r.n)} realtime chat lines on one stack (${STORE_LABEL[r.store]}, zero-latency **simulator**, seed 1), ` +
      'a review classified as JSON: `label` (an enum of four), `confidence` (a number from 0 to 1), `topics` (one ' +
      'to five strings). The two sides are what a user chooses between: **unchecked**, each line asks for ' +
      '`response_format: {type: "json_object"}` (JSON, taken as it comes); **checked**, the batch carries ' +
      '`options.outputSchema` (the API asks each line for that `json_schema`, and the worker parses and validates ' +
      "every answer with ajv). A line asking for a `json_schema` itself is always checked, so 'the same schema, " +
      "unchecked' is not a choice the engine offers. The simulator's answers differ in shape between the sides " +
      '(its `json_object` answer is a generic object; the last column shows their sizes). No answer is invalid in ' +
      'these rounds, so no repair is sent: the difference is the validation. The sides take turns round by round; ' +
      "the worker's CPU comes from `/proc` over each timed run, per request; the last column is the CPU other " +
      "processes on the machine used meanwhile (not the bench's: a disturbance, which CPU time per request feels " +
      'less than items/s does).',
    '',
    md(head, rows),
    '',
    `Worker CPU per request, checked against unchecked: **${signed(r.cpuChange)}** (medians); round by round, ` +
      `each pair under the same load: ${paired.join(', ')}.`,
    '',
    `With ${INVALID_OUTPUT_RATE * 100}% of first answers invalid (\`invalidOutputRate\`, half not JSON, half off ` +
      `the schema), the same checked batch made **${int(rep.repaired)} repairs** (${int(rep.calls - r.n)} extra ` +
      `provider calls, ${int(rep.corrections)} corrections answered at the simulator, ${rep.invalidOutput} ` +
      `\`invalid_output\` dead letters) and cost the worker ${rep.workerCpuMs.toFixed(3)} CPU ms per item against ` +
      `${r.repairBaseline.workerCpuMs.toFixed(3)} in the run just before it with no invalid answer: ` +
      `${Math.abs(cost.totalMs).toFixed(0)} ms ${cost.totalMs >= 0 ? 'more' : 'less'} in all, ` +
      `${cost.perRepairMs.toFixed(3)} ms per repair (the extra call, its validation and its bookkeeping; a ` +
      "difference within the rounds' spread above is noise). On a real provider the repair calls cost what " +
      'they cost in tokens and time; here they show only as CPU and calls.',
    '',
  ].join('\n');
}
