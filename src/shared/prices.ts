/** Model prices and what tokens cost at them. No I/O: workflow code imports this module. */
import { z } from 'zod';

/** USD per million tokens; native mode pays `batchDiscount` × these (0.5 at OpenAI). */
export const ModelPriceSchema = z.strictObject({
  input: z.number().min(0),
  output: z.number().min(0),
  batchDiscount: z.number().min(0).max(1).default(0.5),
});
export type ModelPrice = z.infer<typeof ModelPriceSchema>;

/** Cost of tokens at a price; native mode pays the batch price. */
export function costUsd(
  price: ModelPrice | undefined,
  tokensIn: number,
  tokensOut: number,
  mode: 'realtime' | 'native',
): number | null {
  if (!price) return null;
  const full = (tokensIn * price.input + tokensOut * price.output) / 1_000_000;
  return Math.round(full * (mode === 'native' ? price.batchDiscount : 1) * 1e6) / 1e6;
}
