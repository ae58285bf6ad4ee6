/** What a pipeline sent the provider, rebuilt from an item's result line: to check at the simulator. */
import type { BatchOutputLine } from '../../src/shared/contracts';
import { renderStep, type Pipeline, type PipelineItem, type StepOutput } from '../../src/shared/pipelines';
import { answerText, withOutputSchema } from '../../src/shared/structuredOutput';

/** The body step `index` was sent for `item`, rendered from the answers its result line holds for the steps before. */
export function stepBody(pipeline: Pipeline, index: number, item: PipelineItem, line: BatchOutputLine): unknown {
  const outputs: Record<string, StepOutput> = {};
  for (const step of pipeline.steps.slice(0, index)) {
    const text = answerText(step.endpoint, line.steps?.[step.name]?.body);
    outputs[step.name] = { text, json: step.outputSchema && text ? JSON.parse(text) : undefined };
  }
  const step = pipeline.steps[index]!;
  const rendered = renderStep(step, { item, steps: outputs });
  if (!rendered.ok) throw new Error(rendered.message);
  return step.outputSchema ? withOutputSchema(step.endpoint, rendered.body, step.outputSchema) : rendered.body;
}
