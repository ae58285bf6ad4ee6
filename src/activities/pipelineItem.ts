/**
 * One pipeline item through its steps, in order, each as soon as the one before answered (no barrier
 * across items). Each step's answer is recorded the moment it is valid, under the batch's steps store
 * (`<batchId>-steps`, one record per item and step), so an attempt that ends mid-way (a killed worker, a
 * transient error) redoes no recorded step: the next attempt renders the following step from what is
 * recorded. The item's own result line, with every step's answer, is written once the last step is.
 */
import type { BatchLine, BatchOutputLine, ProviderAnswer } from '../shared/contracts';
import { ItemErrorCode } from '../shared/failures';
import {
  PIPELINE_RECORD,
  PipelineSchema,
  pipelineStepsId,
  renderStep,
  type Pipeline,
  type PipelineItem,
  type PipelineStep,
  type StepOutput,
} from '../shared/pipelines';
import { answerText, requestedSchema, withOutputSchema } from '../shared/structuredOutput';
import type { BatchStore, ResultWriter } from '../storage/types';
import { checkedAnswer, type Ask, type Item, type OutputCheck } from './checkedAnswer';
import { tokensOf, type Usage } from './chunkSummary';
import { checkedLine, errorLine, resultId } from './resultLines';

const stepKey = (step: number, customId: string): string => `${step}:${customId}`;

/** A chunk of a pipeline batch: its steps, the step answers recorded so far, and where new ones go. */
export interface PipelineChunk {
  pipeline: Pipeline;
  recorded: Map<string, BatchOutputLine>;
  writer: ResultWriter;
}

/** Pipelines are read once per worker process: a batch's steps never change once it is created. */
const pipelines = new Map<string, Pipeline>();
const MAX_CACHED_PIPELINES = 100;

export async function openPipelineChunk(store: BatchStore, batchId: string, chunk: number): Promise<PipelineChunk> {
  let pipeline = pipelines.get(batchId);
  if (!pipeline) {
    const stored = PipelineSchema.safeParse(await store.getRecord(batchId, PIPELINE_RECORD));
    if (!stored.success) throw new Error(`batch ${batchId}: its pipeline record is missing or invalid`);
    pipeline = stored.data;
    if (pipelines.size >= MAX_CACHED_PIPELINES) pipelines.clear();
    pipelines.set(batchId, pipeline);
  }
  const stepsId = pipelineStepsId(batchId);
  const [recorded, writer] = await Promise.all([
    store.getChunkResults(stepsId, chunk),
    store.openResults(stepsId, chunk),
  ]);
  return { pipeline, recorded, writer };
}

/** What the item runner needs of the chunk attempt. */
export interface PipelineItemDeps {
  batchId: string;
  steps: PipelineChunk;
  ask: (item: Item, request: BatchLine) => ReturnType<Ask>;
  record: (line: BatchLine, result: BatchOutputLine) => Promise<void>;
  outputCheck: (schema: OutputCheck['schema'], repairAttempts: number | undefined) => OutputCheck;
}

/** A structured step's answer parsed, for {{steps.<name>.json}}; undefined for a step that asks for no schema. */
function jsonOf(step: PipelineStep, text: string | undefined): unknown {
  if (text === undefined || (!step.outputSchema && !requestedSchema(step.endpoint, step.body))) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined; // validated answers parse; an unchecked one that does not has no json to reference
  }
}

/** One item's run: the answers of its steps so far, what they cost, and the line it ends with. */
class ItemRun {
  private readonly answers: Record<string, ProviderAnswer> = {};
  private readonly outputs: Record<string, StepOutput> = {};
  private readonly usage: Usage = { tokensIn: 0, tokensOut: 0 };
  private repairs = 0;

  constructor(
    private readonly deps: PipelineItemDeps,
    private readonly line: BatchLine,
  ) {}

  private get item(): PipelineItem {
    return this.line.body as PipelineItem;
  }

  async run(): Promise<void> {
    const { steps } = this.deps.steps.pipeline;
    for (const [index, step] of steps.entries()) {
      const recorded = this.deps.steps.recorded.get(stepKey(index, this.line.custom_id));
      const answer = recorded ?? (await this.runStep(index));
      if (!answer) return; // settled (a failure recorded) or left pending
      this.keep(step, answer);
    }
    const last = steps[steps.length - 1]!.name;
    await this.deps.record(this.line, {
      id: resultId(this.deps.batchId, this.line.custom_id),
      custom_id: this.line.custom_id,
      response: this.answers[last]!,
      error: null,
      steps: this.answers,
      llmbatch: this.notes(),
    });
  }

  /**
   * A step's answer (recorded, from the steps store or just now): its cost, and what later steps may reference;
   * with `answered` false (a dead letter) only its cost.
   */
  private keep(step: PipelineStep, answer: BatchOutputLine, answered = true): void {
    const t = tokensOf(answer);
    this.usage.tokensIn += t.tokensIn;
    this.usage.tokensOut += t.tokensOut;
    this.repairs += answer.llmbatch?.repairs ?? 0;
    if (!answered) return;
    this.answers[step.name] = answer.response!;
    const text = answerText(step.endpoint, answer.response!.body);
    this.outputs[step.name] = { text, json: jsonOf(step, text) };
  }

  /** Runs step `index`: its answer recorded in the steps store, or undefined when the item ended otherwise. */
  private async runStep(index: number): Promise<BatchOutputLine | undefined> {
    const step = this.deps.steps.pipeline.steps[index]!;
    const item = this.stepItem(step.name);
    const rendered = renderStep(step, { item: this.item, steps: this.outputs });
    if (!rendered.ok) {
      await this.deps.record(this.line, item.fail(ItemErrorCode.TemplateError, rendered.message));
      return undefined;
    }
    const body = step.outputSchema ? withOutputSchema(step.endpoint, rendered.body, step.outputSchema) : rendered.body;
    const request: BatchLine = {
      custom_id: stepKey(index, this.line.custom_id),
      method: 'POST',
      url: step.endpoint,
      body,
    };
    const check = this.deps.outputCheck(requestedSchema(step.endpoint, body), step.repairAttempts);
    const answer = await checkedAnswer((r) => this.deps.ask(item, r), request, check);
    if (!answer) return undefined;
    const stepLine = checkedLine(this.deps.batchId, request, answer);
    if (stepLine.error) {
      // Still invalid after its repairs: what those calls cost counts with the item's.
      this.keep(step, stepLine, false);
      const failed = item.fail(stepLine.error.code, stepLine.error.message);
      await this.deps.record(this.line, {
        ...failed,
        llmbatch: { ...failed.llmbatch, errors: stepLine.llmbatch?.errors },
      });
      return undefined;
    }
    await this.deps.steps.writer.append(stepLine);
    return stepLine;
  }

  /** The item at step `name`: a failure of it ends the item with the steps answered so far, naming the step. */
  private stepItem(name: string): Item {
    return {
      line: this.line,
      fail: (code, message) => ({
        ...errorLine(this.deps.batchId, this.line, code, `step ${name}: ${message}`),
        steps: { ...this.answers },
        llmbatch: { step: name, ...this.notes() },
      }),
    };
  }

  private notes() {
    return { ...(this.repairs > 0 ? { repairs: this.repairs } : {}), usage: { ...this.usage } };
  }
}

export async function runPipelineItem(deps: PipelineItemDeps, line: BatchLine): Promise<void> {
  await new ItemRun(deps, line).run();
}
