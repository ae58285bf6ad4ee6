/** How a batch's progress maps onto OpenAI's Batch object, without a server. */
import { batchObject, type BatchObjectProgress, type OpenAIBatchRecord } from '../../src/api/v1/objects';

const record: OpenAIBatchRecord = {
  id: 'batch_0123456789abcdef01234567',
  input_file_id: 'file-0123456789abcdef01234567',
  endpoint: '/v1/chat/completions',
  completion_window: '24h',
  metadata: { project: 'x' },
  created_at_ms: 1_700_000_000_500,
  model: 'gpt-4o-mini',
  mode: 'realtime',
  mode_reason: null,
  cancelling_at_ms: null,
  start_error: null,
  result_files: null,
};
const progress = (over: Partial<BatchObjectProgress>): BatchObjectProgress => ({
  status: 'running',
  total: 10,
  succeeded: 4,
  failed: 1,
  tokensIn: 100,
  tokensOut: 50,
  startedAt: '2023-11-14T22:13:21.000Z',
  updatedAt: '2023-11-14T22:20:00.000Z',
  ...over,
});
const created = 1_700_000_000;
const updated = Date.parse('2023-11-14T22:20:00.000Z') / 1000;

describe('batchObject', () => {
  it.each([
    ['running', false, null, 'in_progress'],
    ['paused', false, null, 'in_progress'],
    ['scheduled', false, null, 'validating'], // waiting for its notBefore time: not started
    ['scheduled', false, 1_700_000_100_000, 'cancelling'],
    ['running', false, 1_700_000_100_000, 'cancelling'],
    ['paused', false, 1_700_000_100_000, 'cancelling'],
    ['cancelled', false, null, 'cancelling'], // cancel signalled, chunks still stopping
    ['completed', false, null, 'finalizing'], // reported by the workflow, outcome not yet recorded
    ['failed', false, null, 'finalizing'],
    ['completed', true, null, 'completed'],
    ['cancelled', true, 1_700_000_100_000, 'cancelled'],
    ['failed', true, null, 'failed'],
  ] as const)('%s (final: %s, cancel asked at %s) is %s', (status, final, cancellingAt, expected) => {
    const b = batchObject({ ...record, cancelling_at_ms: cancellingAt }, { progress: progress({ status }), final });
    expect(b.status).toBe(expected);
    expect(b.output_file_id).toBe(final ? `file-${record.id}_output` : null);
    expect(b.error_file_id).toBe(final ? `file-${record.id}_error` : null);
  });

  it('states counts, usage, metadata and timestamps in OpenAI units', () => {
    const b = batchObject(
      { ...record, cancelling_at_ms: 1_700_000_100_999 },
      { progress: progress({ status: 'cancelled', succeeded: 4, failed: 0 }), final: true },
    );
    expect(b).toMatchObject({
      object: 'batch',
      created_at: created,
      in_progress_at: Date.parse('2023-11-14T22:13:21.000Z') / 1000,
      expires_at: created + 86_400,
      cancelling_at: 1_700_000_100,
      cancelled_at: updated,
      completed_at: null,
      request_counts: { total: 10, completed: 4, failed: 0 },
      usage: { input_tokens: 100, output_tokens: 50, total_tokens: 150 },
      metadata: { project: 'x' },
      error_file_id: null, // no failures: no error file
      errors: null,
    });
  });

  it('explains a failure, and a batch whose workflow never started', () => {
    expect(
      batchObject(record, { progress: progress({ status: 'failed', error: 'provider auth' }), final: true }),
    ).toMatchObject({
      status: 'failed',
      failed_at: updated,
      errors: { object: 'list', data: [{ code: 'batch_failed', message: 'provider auth' }] },
    });
    expect(batchObject(record, { progress: null, error: 'no workflow' })).toMatchObject({
      status: 'failed',
      errors: { data: [{ message: 'no workflow' }] },
      request_counts: { total: 0 },
    });
  });
});
