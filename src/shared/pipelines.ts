/**
 * Pipelines (`POST /pipelines`): named steps, each a request template, run in order for every item. A step's strings
 * may reference the item and earlier steps' answers: {{item.topic}}, {{steps.headline.text}},
 * {{steps.headline.json.title}}. The API checks a pipeline once (checkPipeline, itemPaths, missingItemField) so
 * that every item can run; the activity renders one step of one item at a time (renderStep).
 * Each string is rendered on its own, with no HTML escaping: the values land in the body object as they are, and
 * JSON.stringify of the body escapes them for JSON, whatever quotes, newlines or backslashes they hold.
 */
import { z } from 'zod';
import { LIMITS, SUPPORTED_URLS } from './contracts';
import {
  type Node,
  type Ref,
  RenderError,
  compileNode,
  forEachString,
  parseTemplate,
  renderNode,
  setOwn,
} from './pipelineTemplates';

/** The record kind a pipeline batch keeps its steps under, beside the batch in the store. */
export const PIPELINE_RECORD = 'pipeline';
/** The store batch holding a pipeline's step answers: beside the batch, never listed or counted as one. */
export const pipelineStepsId = (batchId: string): string => `${batchId}-steps`;

export const PIPELINE_LIMITS = { maxSteps: 20, maxItems: 100_000 } as const;

export const PipelineStepSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_]{0,62}$/, 'a step name is 1-63 characters: a letter, then letters, digits or _'),
  endpoint: z.enum(SUPPORTED_URLS).default('/v1/chat/completions'),
  /** Overrides body.model; may itself be a template. */
  model: z.string().min(1).optional(),
  body: z.record(z.string(), z.unknown()),
  /** A JSON Schema the step's answer must follow; it makes {{steps.<name>.json}} available to later steps. */
  outputSchema: z.record(z.string(), z.unknown()).optional(),
  repairAttempts: z.number().int().min(0).max(10).optional(),
});
export type PipelineStep = z.infer<typeof PipelineStepSchema>;

export const PipelineSchema = z.strictObject({
  steps: z
    .array(PipelineStepSchema)
    .min(1, 'a pipeline needs at least 1 step')
    .max(PIPELINE_LIMITS.maxSteps, `a pipeline has at most ${PIPELINE_LIMITS.maxSteps} steps`),
});
export type Pipeline = z.infer<typeof PipelineSchema>;

/** An item: any JSON object with a custom_id; its other fields are what {{item.<path>}} references. */
export const PipelineItemSchema = z
  .object({ custom_id: z.string().min(1).max(LIMITS.customIdMaxLength) })
  .catchall(z.unknown());
export type PipelineItem = z.infer<typeof PipelineItemSchema>;

/** Why a pipeline cannot run: the step, where in it (`body.messages[0].content`, `model`, `name`), what. */
export interface PipelineProblem {
  step: string;
  path: string;
  reference?: string;
  message: string;
}

/** A finished step's answer: its text, and for a structured answer the text parsed as JSON. */
export interface StepOutput {
  text?: string;
  json?: unknown;
}

type RefKind = { kind: 'item'; path: string } | { kind: 'text' | 'json'; step: string };

/** What a reference names, by shape only; undefined when it is none of the three forms. */
function classify(ref: Ref): RefKind | undefined {
  const [root, name, field, ...rest] = ref.segments;
  if (ref.segments.some((s) => s === '')) return undefined;
  if (root === 'item' && name !== undefined) return { kind: 'item', path: ref.segments.slice(1).join('.') };
  if (root !== 'steps' || name === undefined) return undefined;
  if (field === 'text' && rest.length === 0) return { kind: 'text', step: name };
  if (field === 'json') return { kind: 'json', step: name };
  return undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** Whether a step's answer is JSON: it has an outputSchema, or its body asks for a json_schema format. */
function answersJson(step: PipelineStep): boolean {
  if (step.outputSchema !== undefined) return true;
  const { response_format: responseFormat, text } = step.body;
  if (isRecord(responseFormat) && responseFormat.type === 'json_schema') return true;
  return isRecord(text) && isRecord(text.format) && text.format.type === 'json_schema';
}

/** Every string of a step that can hold a template, with its path: the model, then the body's. */
function forEachStepString(step: PipelineStep, visit: (text: string, path: string) => void): void {
  if (step.model !== undefined) visit(step.model, 'model');
  forEachString(step.body, 'body', visit);
}

/** The problem with one well-formed reference of step `index`, if any. */
function referenceProblem(p: Pipeline, index: number, kind: RefKind): string | undefined {
  if (kind.kind === 'item') return undefined;
  const self = p.steps[index] as PipelineStep;
  const target = p.steps.findIndex((s) => s.name === kind.step);
  const step = p.steps[target];
  if (step === undefined) return `no step named ${kind.step}`;
  if (target === index) return 'a step cannot reference itself';
  if (target > index) return `forward reference: step ${kind.step} runs after step ${self.name}`;
  if (step.endpoint === '/v1/embeddings') {
    return `embeddings have no answer text (step ${kind.step} calls /v1/embeddings)`;
  }
  if (kind.kind === 'json' && !answersJson(step)) {
    return (
      `steps.${kind.step}.json needs step ${kind.step} to have an outputSchema ` +
      '(or a json_schema response_format / text.format in its body)'
    );
  }
  return undefined;
}

const UNKNOWN_REFERENCE = 'unknown reference: use item.<field>, steps.<step>.text or steps.<step>.json[.<field>]';

/** Every reason the pipeline cannot run, in step order; empty when it can. */
export function checkPipeline(p: Pipeline): PipelineProblem[] {
  const problems: PipelineProblem[] = [];
  const seen = new Set<string>();
  p.steps.forEach((step, index) => {
    const add = (path: string, message: string, reference?: string): void => {
      const where = reference === undefined ? '' : `, {{${reference}}}`;
      problems.push({ step: step.name, path, reference, message: `step ${step.name}${where}: ${message}` });
    };
    if (seen.has(step.name)) add('name', 'duplicate step name: step names must be unique');
    seen.add(step.name);
    forEachStepString(step, (text, path) => {
      const parsed = parseTemplate(text);
      if ('error' in parsed) return add(path, parsed.error);
      for (const part of parsed.parts) {
        if (typeof part === 'string') continue;
        const kind = classify(part);
        const message = kind === undefined ? UNKNOWN_REFERENCE : referenceProblem(p, index, kind);
        if (message !== undefined) add(path, message, part.name);
      }
    });
  });
  return problems;
}

interface ItemRef {
  step: string;
  reference: string;
  segments: string[];
}

/** Each item path a pipeline references, once (first step to reference it); kept per pipeline object. */
const itemRefCache = new WeakMap<Pipeline, ItemRef[]>();

function itemRefs(p: Pipeline): ItemRef[] {
  let refs = itemRefCache.get(p);
  if (refs !== undefined) return refs;
  const found = new Map<string, ItemRef>();
  for (const step of p.steps) {
    forEachStepString(step, (text) => {
      const parsed = parseTemplate(text);
      if ('error' in parsed) return;
      for (const part of parsed.parts) {
        if (typeof part === 'string' || classify(part)?.kind !== 'item' || found.has(part.name)) continue;
        found.set(part.name, { step: step.name, reference: part.name, segments: part.segments.slice(1) });
      }
    });
  }
  refs = [...found.values()];
  itemRefCache.set(p, refs);
  return refs;
}

/** The distinct item paths the pipeline references (`topic`, `meta.lang`), in order of first use. */
export function itemPaths(p: Pipeline): string[] {
  return itemRefs(p).map((r) => r.segments.join('.'));
}

function hasPath(item: PipelineItem, segments: string[]): boolean {
  let value: unknown = item;
  for (const key of segments) {
    if (!isRecord(value) || !Object.hasOwn(value, key)) return false;
    value = value[key];
  }
  return value !== undefined && value !== null;
}

/** The first item reference the item cannot fill (null counts as missing), and the step that makes it. */
export function missingItemField(p: Pipeline, item: PipelineItem): { step: string; reference: string } | undefined {
  for (const ref of itemRefs(p)) {
    if (!hasPath(item, ref.segments)) return { step: ref.step, reference: ref.reference };
  }
  return undefined;
}

interface CompiledStep {
  body: Node;
  model?: Node;
}

/** Compiled per step object, as the activity renders one step for many items: a step must not change after. */
const compiledSteps = new WeakMap<PipelineStep, CompiledStep>();

function compileStep(step: PipelineStep): CompiledStep {
  let compiled = compiledSteps.get(step);
  if (compiled === undefined) {
    compiled = { body: compileNode(step.body) };
    if (step.model !== undefined) compiled.model = compileNode(step.model);
    compiledSteps.set(step, compiled);
  }
  return compiled;
}

/**
 * One step's request body for one item. A reference with no value (a field the item or the answer lacks, null
 * included) is an error naming it, never an empty string. `model` is the body's model once rendered (step.model
 * when given). The result's top level is a new object; below it, parts of step.body without a template are
 * shared with the step, not copied: treat them as read-only.
 */
export function renderStep(
  step: PipelineStep,
  ctx: { item: PipelineItem; steps: Record<string, StepOutput> },
): { ok: true; body: Record<string, unknown>; model?: string } | { ok: false; reference: string; message: string } {
  const compiled = compileStep(step);
  const view = { item: ctx.item, steps: ctx.steps };
  try {
    let body = renderNode(compiled.body, view) as Record<string, unknown>;
    if ('c' in compiled.body) {
      // A template-free body comes back as step.body itself: copied, so setting the model never writes into it.
      const copy: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(body)) setOwn(copy, k, v);
      body = copy;
    }
    if (compiled.model !== undefined) body.model = renderNode(compiled.model, view);
    return typeof body.model === 'string' ? { ok: true, body, model: body.model } : { ok: true, body };
  } catch (e) {
    if (e instanceof RenderError) return { ok: false, reference: e.reference, message: e.message };
    throw e;
  }
}
