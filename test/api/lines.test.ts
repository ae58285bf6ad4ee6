/** The streaming batch-file validator and line splitter of /v1 uploads, without a server. */
import { BatchFileValidator, checkLine, describeProblem, splitLines } from '../../src/api/lines';

const line = (id: string, over: Record<string, unknown> = {}) =>
  JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/embeddings', body: { input: 'x' }, ...over });

function validate(content: Buffer, chunkSize: number, limits = { maxLineBytes: 200, maxLines: 5 }) {
  const v = new BatchFileValidator(limits);
  for (let i = 0; i < content.length && !v.problem; i += chunkSize) v.push(content.subarray(i, i + chunkSize));
  return { problem: v.end(), requests: v.requests };
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('BatchFileValidator', () => {
  const file = Buffer.from(`\ufeff${line('a')}\r\n\n${line('é-ü')}\n${line('c')}`);

  it.each([1, 2, 7, 64, 10_000])('gives the same answer whatever the chunk size (%i bytes)', (size) => {
    expect(validate(file, size)).toEqual({ problem: undefined, requests: 3 });
    const bad = Buffer.concat([file, Buffer.from(`\n${line('a')}\n`)]);
    expect(validate(bad, size).problem).toEqual({
      line: 5,
      code: 'duplicate_custom_id',
      reason: 'duplicate custom_id "a" (first on line 1)',
    });
  });

  it('stops a line over the limit before its end arrives', () => {
    const v = new BatchFileValidator({ maxLineBytes: 10, maxLines: 5 });
    expect(v.push(Buffer.from('{"custom_id"'))).toEqual({
      line: 1,
      code: 'line_too_long',
      reason: 'longer than 10 bytes',
    });
  });

  it('allows a line of exactly the limit, CR not counted', () => {
    const exact = line('x');
    expect(
      validate(Buffer.from(`${exact}\r\n`), 3, { maxLineBytes: exact.length, maxLines: 5 }).problem,
    ).toBeUndefined();
    expect(validate(Buffer.from(`${exact} \r\n`), 3, { maxLineBytes: exact.length, maxLines: 5 }).problem?.code).toBe(
      'line_too_long',
    );
  });

  it('counts requests against the limit', () => {
    const six = Buffer.from(['a', 'b', 'c', 'd', 'e', 'f'].map((id) => line(id)).join('\n'));
    expect(validate(six, 5).problem).toEqual({
      line: 6,
      code: 'too_many_requests',
      reason: 'more than 5 requests in one file',
    });
  });

  it('finds bad UTF-8 even when a character is split across chunks', () => {
    const ok = Buffer.from(`${line('ünïcödé')}\n`);
    expect(validate(ok, 1).problem).toBeUndefined();
    expect(validate(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), 1).problem?.code).toBe('invalid_utf8');
  });

  it('names the line in its message', () => {
    expect(describeProblem({ line: 3, code: 'invalid_method', reason: 'method must be "POST"' })).toBe(
      'Line 3: method must be "POST"',
    );
    expect(describeProblem({ line: null, code: 'empty_file', reason: 'the file contains no requests' })).toBe(
      'the file contains no requests',
    );
  });
});

describe('checkLine', () => {
  it.each([
    ['{', 'invalid_json_line'],
    ['null', 'invalid_json_line'],
    [line('a', { custom_id: null }), 'missing_custom_id'],
    [line('a', { custom_id: ['a'] }), 'invalid_custom_id'],
    [line('a', { method: 'post' }), 'invalid_method'],
    [line('a', { url: '/v1/chat/completions/' }), 'unsupported_url'],
    [line('a', { body: null }), 'invalid_body'],
  ])('refuses %s with %s', (text, code) => {
    expect(checkLine(text)).toMatchObject({ ok: false, code });
  });

  it('accepts a line; unknown fields are dropped', () => {
    expect(checkLine(line('a', { extra: 1 }))).toMatchObject({
      ok: true,
      line: { custom_id: 'a', method: 'POST', url: '/v1/embeddings', body: { input: 'x' } },
    });
  });
});

describe('splitLines', () => {
  it('splits like the validator: LF only, CR and BOM dropped, blank lines skipped but counted', async () => {
    async function* chunks() {
      const text = Buffer.from('\ufeffone\r\n\n  \ntw\ro\nthree');
      for (let i = 0; i < text.length; i += 3) yield text.subarray(i, i + 3);
    }
    expect(await collect(splitLines(chunks()))).toEqual([
      { line: 1, text: 'one' },
      { line: 4, text: 'tw\ro' },
      { line: 5, text: 'three' },
    ]);
  });
});
