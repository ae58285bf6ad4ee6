/** `npm run example -- [count] [seed] > reviews.jsonl`: the demo's batch as OpenAI batch input lines. */
import { makeReviewRequests } from './reviews';

const count = Number(process.argv[2] ?? 1000);
const seed = Number(process.argv[3] ?? 42);
if (!Number.isInteger(count) || count < 1) {
  console.error(`count: expected a positive whole number, got ${process.argv[2]}`);
  process.exit(1);
}
for (const line of makeReviewRequests(count, seed)) process.stdout.write(`${JSON.stringify(line)}\n`);
