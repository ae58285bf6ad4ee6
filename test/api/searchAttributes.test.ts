/** The API asks the server once whether it has llmbatch's search attributes, and says once when it has not. */
import type { Client } from '@temporalio/client';
import { searchAttributesRegistered } from '../../src/api/searchAttributes';
import { SEARCH_ATTRIBUTE_TYPES } from '../../src/shared/searchAttributes';

function fakeClient(registered: string[] | Error) {
  let asked = 0;
  const client = {
    options: { namespace: 'ns' },
    connection: {
      operatorService: {
        listSearchAttributes: async ({ namespace }: { namespace: string }) => {
          asked += 1;
          expect(namespace).toBe('ns');
          if (registered instanceof Error) throw registered;
          return { customAttributes: Object.fromEntries(registered.map((n) => [n, 2])) };
        },
      },
    },
  } as unknown as Client;
  return { client, asked: () => asked };
}

const ALL = Object.keys(SEARCH_ATTRIBUTE_TYPES);

describe('searchAttributesRegistered', () => {
  it('is true when all six are registered, asking once per client', async () => {
    const { client, asked } = fakeClient([...ALL, 'Other']);
    const warn = jest.fn();
    expect(ALL).toEqual([
      'LlmbatchTenant',
      'LlmbatchMode',
      'LlmbatchStatus',
      'LlmbatchModel',
      'LlmbatchPriority',
      'LlmbatchScheduleId',
    ]);
    expect(await searchAttributesRegistered(client, warn)).toBe(true);
    expect(await searchAttributesRegistered(client, warn)).toBe(true);
    expect(asked()).toBe(1);
    expect(warn).not.toHaveBeenCalled();
  });

  it('is false when one is missing, and warns once naming it and the command that adds it', async () => {
    const { client, asked } = fakeClient(ALL.filter((n) => n !== 'LlmbatchPriority'));
    const warn = jest.fn();
    expect(await searchAttributesRegistered(client, warn)).toBe(false);
    expect(await searchAttributesRegistered(client, warn)).toBe(false);
    expect(asked()).toBe(1);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toContain(
      'temporal operator search-attribute create --namespace ns --name LlmbatchPriority --type Int',
    );
    expect(warn.mock.calls[0]?.[0]).not.toContain('LlmbatchTenant');
  });

  it('is false while the server does not answer, and asks again next time', async () => {
    const { client, asked } = fakeClient(new Error('unavailable'));
    expect(await searchAttributesRegistered(client, jest.fn())).toBe(false);
    expect(await searchAttributesRegistered(client, jest.fn())).toBe(false);
    expect(asked()).toBe(2);
  });
});
