/**
 * defineSignal and defineQuery as @temporalio/workflow has them, without loading that package: a
 * definition is the plain object `{ type, name }`, and its argument and result types exist only for the
 * compiler. So the API, the CLI and the config, which import these contracts, never load the workflow
 * runtime, while workflows' setHandler and the client's handle.signal/query accept them as before.
 */
import type { QueryDefinition, SignalDefinition } from '@temporalio/common';

export function defineSignal<Args extends unknown[] = [], Name extends string = string>(
  name: Name,
): SignalDefinition<Args, Name> {
  return { type: 'signal', name } as SignalDefinition<Args, Name>;
}

export function defineQuery<Ret, Args extends unknown[] = [], Name extends string = string>(
  name: Name,
): QueryDefinition<Ret, Args, Name> {
  return { type: 'query', name } as QueryDefinition<Ret, Args, Name>;
}
