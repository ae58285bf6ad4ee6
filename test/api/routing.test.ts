import { HttpError } from '../../src/api/httpError';
import { chooseMode } from '../../src/api/routing';
import { loadConfig } from '../../src/config';
import { costUsd } from '../../src/shared/contracts';

const native = loadConfig({ LLMBATCH_AUTO_NATIVE_MIN_ITEMS: '10000' }).native;
const NOW = Date.parse('2026-11-21T12:00:00Z');
const inHours = (h: number) => new Date(NOW + h * 3_600_000).toISOString();

describe('chooseMode', () => {
  it('auto keeps a batch of several models in realtime: a provider batch holds one model', () => {
    expect(chooseMode('auto', { total: 120_000, mixedModels: true }, undefined, native, NOW)).toEqual({
      mode: 'realtime',
      reason: expect.stringContaining('more than one model'),
    });
  });

  it('auto sends a small batch to realtime and says why', () => {
    expect(chooseMode('auto', { total: 500, mixedModels: false }, undefined, native, NOW)).toEqual({
      mode: 'realtime',
      reason: expect.stringContaining('500 items, under the 10000'),
    });
  });

  it('auto sends a large batch with a 48 h deadline to native and keeps the deadline', () => {
    const route = chooseMode('auto', { total: 120_000, mixedModels: false }, inHours(48), native, NOW);
    expect(route).toEqual({
      mode: 'native',
      reason: expect.stringContaining('deadline in 48 h leaves room'),
      deadlineMs: NOW + 48 * 3_600_000,
    });
  });

  it('auto sends a large batch whose deadline is inside the window plus reserve to realtime', () => {
    expect(chooseMode('auto', { total: 120_000, mixedModels: false }, inHours(24.5), native, NOW)).toEqual({
      mode: 'realtime',
      reason: expect.stringContaining('too near for the provider'),
    });
  });

  it('auto without a Batch API goes realtime; asking for native then is a 400 naming the field', () => {
    const off = { ...native, enabled: false };
    expect(chooseMode('auto', { total: 120_000, mixedModels: false }, undefined, off, NOW).mode).toBe('realtime');
    expect(() => chooseMode('native', { total: 10, mixedModels: false }, undefined, off, NOW)).toThrow('options.mode');
  });

  it('takes an asked mode as is, and the configured default when none is asked', () => {
    expect(chooseMode('native', { total: 10, mixedModels: false }, undefined, native, NOW)).toEqual({
      mode: 'native',
      reason: null,
    });
    expect(chooseMode(undefined, { total: 10, mixedModels: false }, undefined, native, NOW)).toEqual({
      mode: 'realtime',
      reason: null,
    });
  });

  it('rejects a deadline that has passed', () => {
    const err = (() => {
      try {
        chooseMode('auto', { total: 10, mixedModels: false }, inHours(-1), native, NOW);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).message).toContain('options.deadline');
  });
});

describe('costUsd', () => {
  const price = { input: 0.15, output: 0.6, batchDiscount: 0.5 };
  it('costs tokens at the model price, and native at the batch price', () => {
    expect(costUsd(price, 1_000_000, 1_000_000, 'realtime')).toBeCloseTo(0.75);
    expect(costUsd(price, 1_000_000, 1_000_000, 'native')).toBeCloseTo(0.375);
    expect(costUsd(undefined, 5, 5, 'realtime')).toBeNull();
  });
});
