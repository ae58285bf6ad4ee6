/**
 * Simulated OpenAI-compatible provider: chat completions, embeddings,
 * responses, files and native batches, with rate limits and fault injection.
 * NOT a real LLM: answers are deterministic pseudo-text derived from the request.
 */
export { startSimulator, createSimulatorParts } from './simulator';
export type { Simulator, SimulatorDeps, SimulatorParts } from './simulator';
export { createSimulatorApp } from './http/app';
export type { SimulatorContext } from './http/context';
export { InvalidOptionError, parseOptions } from './options';
export type { SimulatorOptions, ResolvedOptions } from './options';
export type { SimStats, BackgroundUsage, StructuredStats } from './stats';
export { INVALID_OUTPUT_MARKER } from './content/invalidOutput';
export type { BucketState } from './rateLimiter';
export type { BodyCalls, BodyCallSummary } from './bodyCalls';
export type { BatchObject, FileObject } from './openaiObjects';
