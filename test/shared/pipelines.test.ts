/**
 * Pipelines' contract (src/shared/pipelines.ts): the schemas, the checks the API makes before accepting a pipeline,
 * and the rendering the activity does per item and step. The rendered body must survive JSON.stringify/parse with
 * every value exactly as it was, whatever it holds.
 */
import Mustache from 'mustache';
import {
  PIPELINE_LIMITS,
  PipelineItemSchema,
  PipelineSchema,
  PipelineStepSchema,
  checkPipeline,
  itemPaths,
  missingItemField,
  renderStep,
  type Pipeline,
  type PipelineItem,
  type PipelineStep,
  type StepOutput,
} from '../../src/shared/pipelines';

const chat = (content: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content }],
  ...extra,
});
const pipeline = (...steps: Record<string, unknown>[]): Pipeline => PipelineSchema.parse({ steps });
const TITLE_SCHEMA = { type: 'object', properties: { title: { type: 'string' } }, required: ['title'] };

const headlineIntro = (): Pipeline =>
  pipeline(
    {
      name: 'headline',
      body: chat('Write a headline about {{item.topic}} in {{item.meta.lang}}.'),
      outputSchema: TITLE_SCHEMA,
    },
    { name: 'intro', body: chat('Write an intro for "{{steps.headline.json.title}}" ({{steps.headline.text}}).') },
  );

const render = (step: PipelineStep | undefined, item: PipelineItem, steps: Record<string, StepOutput> = {}) =>
  renderStep(step as PipelineStep, { item, steps });

describe('schemas', () => {
  it('defaults the endpoint, checks names and the number of steps', () => {
    expect(PipelineStepSchema.parse({ name: 'a', body: {} }).endpoint).toBe('/v1/chat/completions');
    const bad = PipelineStepSchema.safeParse({ name: '1a', body: {} });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toMatch(/a letter, then letters, digits or _/);
    expect(PipelineStepSchema.safeParse({ name: 'a', body: {}, extra: 1 }).success).toBe(false);
    expect(PipelineStepSchema.safeParse({ name: 'a', body: {}, repairAttempts: 11 }).success).toBe(false);
    expect(PipelineSchema.safeParse({ steps: [] }).error?.issues[0]?.message).toBe('a pipeline needs at least 1 step');
    const many = Array.from({ length: PIPELINE_LIMITS.maxSteps + 1 }, (_, i) => ({ name: `s${i}`, body: {} }));
    expect(PipelineSchema.safeParse({ steps: many }).error?.issues[0]?.message).toBe('a pipeline has at most 20 steps');
  });

  it('takes any object with a custom_id as an item, keeping its fields', () => {
    expect(PipelineItemSchema.parse({ custom_id: 'a', topic: 't', n: { x: 1 } })).toEqual({
      custom_id: 'a',
      topic: 't',
      n: { x: 1 },
    });
    expect(PipelineItemSchema.safeParse({ topic: 't' }).success).toBe(false);
    expect(PipelineItemSchema.safeParse({ custom_id: '' }).success).toBe(false);
  });
});

describe('the headline → intro example', () => {
  it('checks, then renders each step from the item and the earlier answer', () => {
    const p = headlineIntro();
    expect(checkPipeline(p)).toEqual([]);
    expect(itemPaths(p)).toEqual(['topic', 'meta.lang']);
    const item = { custom_id: 'i1', topic: 'tides', meta: { lang: 'French' } };
    const first = render(p.steps[0], item);
    expect(first).toEqual({
      ok: true,
      model: 'gpt-4o-mini',
      body: chat('Write a headline about tides in French.'),
    });
    const headline = { text: '{"title":"The Moon Pulls"}', json: { title: 'The Moon Pulls' } };
    const second = render(p.steps[1], item, { headline });
    expect(second).toEqual({
      ok: true,
      model: 'gpt-4o-mini',
      body: chat('Write an intro for "The Moon Pulls" ({"title":"The Moon Pulls"}).'),
    });
  });
});

describe('checkPipeline', () => {
  const one = (p: Pipeline) => {
    const problems = checkPipeline(p);
    expect(problems).toHaveLength(1);
    return problems[0];
  };

  it('refuses duplicate step names', () => {
    expect(one(pipeline({ name: 'a', body: {} }, { name: 'a', body: {} }))).toEqual({
      step: 'a',
      path: 'name',
      message: 'step a: duplicate step name: step names must be unique',
    });
  });

  it('reports a template that does not parse, with its path', () => {
    const problem = one(pipeline({ name: 'a', body: chat('hello {{item.x') }));
    expect(problem).toMatchObject({ step: 'a', path: 'body.messages[0].content' });
    expect(problem?.message).toBe('step a: template does not parse: Unclosed tag at 14');
  });

  it.each([
    ['{{#item.x}}y{{/item.x}}', '{{#item.x}} (a section)'],
    ['{{^item.x}}y{{/item.x}}', '{{^item.x}} (an inverted section)'],
    ['{{> other}}', '{{>other}} (a partial)'],
    ['{{! note }}', '{{!note}} (a comment)'],
    ['{{=<% %>=}}<% item.x %>', '{{=<% %>}} (a delimiter change)'],
  ])('refuses %s: only plain references', (template, what) => {
    expect(one(pipeline({ name: 'a', body: { input: template } }))).toEqual({
      step: 'a',
      path: 'body.input',
      message: `step a: ${what} is not supported: only {{reference}} is supported`,
    });
  });

  it.each(['foo', 'item', '.', 'steps.a', 'steps.a.texts', 'steps.a.text.x', 'item..x', 'steps.a.jsonx', 'Item.x'])(
    'refuses the unknown reference {{%s}}',
    (reference) => {
      const p = pipeline({ name: 'a', body: {} }, { name: 'b', body: chat(`x {{${reference}}}`) });
      const problem = one(p);
      expect(problem).toMatchObject({ step: 'b', reference, path: 'body.messages[0].content' });
      expect(problem?.message).toMatch(
        new RegExp(`^step b, \\{\\{${reference.replace(/\./g, '\\.')}\\}\\}: unknown reference`),
      );
    },
  );

  it('accepts all three plain forms: {{x}}, {{{x}}} and {{& x}}', () => {
    const p = pipeline({ name: 'a', body: { a: '{{item.x}} {{{ item.y }}} {{& item.z}}' } });
    expect(checkPipeline(p)).toEqual([]);
    expect(itemPaths(p)).toEqual(['x', 'y', 'z']);
  });

  it.each([
    ['steps.nope.text', 'no step named nope'],
    ['steps.b.text', 'a step cannot reference itself'],
    ['steps.c.text', 'forward reference: step c runs after step b'],
    [
      'steps.a.json.title',
      'steps.a.json needs step a to have an outputSchema (or a json_schema response_format / text.format in its body)',
    ],
    ['steps.e.text', 'embeddings have no answer text (step e calls /v1/embeddings)'],
    ['steps.e.json', 'embeddings have no answer text (step e calls /v1/embeddings)'],
  ])('refuses {{%s}}: %s', (reference, message) => {
    const p = pipeline(
      { name: 'a', body: chat('x') },
      { name: 'e', endpoint: '/v1/embeddings', body: { model: 'emb', input: 'x' } },
      {
        name: 'b',
        body: { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: `{{${reference}}}` }] }] },
      },
      { name: 'c', body: chat('x') },
    );
    expect(one(p)).toEqual({
      step: 'b',
      reference,
      path: 'body.messages[0].content[0].text',
      message: `step b, {{${reference}}}: ${message}`,
    });
  });

  it('takes steps.X.json from an outputSchema or a json_schema format in the body', () => {
    const jsonSchema = { type: 'json_schema', json_schema: { name: 't', schema: TITLE_SCHEMA } };
    const p = pipeline(
      { name: 'a', body: chat('x', { response_format: jsonSchema }) },
      {
        name: 'r',
        endpoint: '/v1/responses',
        body: { model: 'm', input: 'x', text: { format: { type: 'json_schema' } } },
      },
      { name: 'o', body: chat('x'), outputSchema: TITLE_SCHEMA },
      { name: 'z', body: chat('{{steps.a.json}} {{steps.r.json.title}} {{steps.o.json.title}} {{steps.o.text}}') },
    );
    expect(checkPipeline(p)).toEqual([]);
  });

  it('checks templates in the model and in odd keys, and reports every problem', () => {
    const p = pipeline({ name: 'a', model: '{{steps.q.text}}', body: { 'odd key': ['{{zap}}'], n: 3 } });
    expect(checkPipeline(p).map((x) => [x.path, x.reference])).toEqual([
      ['model', 'steps.q.text'],
      ['body["odd key"][0]', 'zap'],
    ]);
  });
});

describe('item fields', () => {
  const p = pipeline(
    { name: 'a', body: chat('{{item.topic}} {{item.meta.lang}}') },
    { name: 'b', body: chat('{{item.topic}} {{item.tags.0}} {{steps.a.text}}') },
  );

  it('lists each referenced path once, and names the first an item lacks', () => {
    expect(itemPaths(p)).toEqual(['topic', 'meta.lang', 'tags.0']);
    const full = { custom_id: 'x', topic: 't', meta: { lang: 'en' }, tags: ['a'] };
    expect(missingItemField(p, full)).toBeUndefined();
    expect(missingItemField(p, { ...full, meta: {} })).toEqual({ step: 'a', reference: 'item.meta.lang' });
    expect(missingItemField(p, { ...full, meta: { lang: null } })).toEqual({ step: 'a', reference: 'item.meta.lang' });
    expect(missingItemField(p, { ...full, tags: [] })).toEqual({ step: 'b', reference: 'item.tags.0' });
    expect(missingItemField(p, { ...full, topic: undefined })).toEqual({ step: 'a', reference: 'item.topic' });
    expect(missingItemField(p, { ...full, topic: 0 })).toBeUndefined();
  });

  it('fails a render that misses a field, naming the reference, never rendering ""', () => {
    const rendered = render(p.steps[0], { custom_id: 'x', topic: 't', meta: { lang: null } });
    expect(rendered).toEqual({
      ok: false,
      reference: 'item.meta.lang',
      message: '{{item.meta.lang}} has no value: it is null',
    });
    expect(render(p.steps[0], { custom_id: 'x', meta: {} })).toEqual({
      ok: false,
      reference: 'item.topic',
      message: '{{item.topic}} has no value: item has no field "topic"',
    });
  });

  it('never reaches a prototype', () => {
    const step = pipeline({ name: 'a', body: { a: '{{item.constructor}}', b: '{{item.topic.length}}' } }).steps[0];
    expect(render(step, { custom_id: 'x', topic: 't' })).toMatchObject({ ok: false, reference: 'item.constructor' });
    expect(missingItemField(pipeline({ name: 'a', body: { a: '{{item.toString}}' } }), { custom_id: 'x' })).toEqual({
      step: 'a',
      reference: 'item.toString',
    });
  });
});

describe('rendering', () => {
  const tricky = {
    quotes: 'she said "hi" and \'bye\'',
    newlines: 'line 1\nline 2\r\n\ttabbed',
    backslashes: 'C:\\path\\to\\file \\" \\n \\u0041',
    unicode: 'héllo wörld 日本語 🎉 \u2028\u2029 \u0000',
    html: '</script><script>alert("x")</script> & &amp; <b>',
    braces: '{{item.quotes}} }} {{',
  };
  const item = { custom_id: 'x', ...tricky, num: 3, flag: false, obj: { a: 1, b: ['x"y'] }, list: [1, 'two'] };

  it('keeps every value exactly through JSON.stringify and JSON.parse', () => {
    const body: Record<string, unknown> = {};
    for (const key of Object.keys(tricky)) body[key] = `{{item.${key}}}`;
    body.nested = { deeper: [{ text: '<{{{item.html}}}|{{& item.quotes}}>' }] };
    const rendered = render(pipeline({ name: 'a', body }).steps[0], item);
    if (!rendered.ok) throw new Error(rendered.message);
    const back = JSON.parse(JSON.stringify(rendered.body));
    expect(back).toEqual({ ...tricky, nested: { deeper: [{ text: `<${tricky.html}|${tricky.quotes}>` }] } });
  });

  it('renders values that are not strings as their JSON text', () => {
    const body = { a: '{{item.num}}', b: '{{item.flag}}', c: 'o={{item.obj}}', d: '{{{item.list}}}' };
    const rendered = render(pipeline({ name: 'a', body }).steps[0], item);
    expect(rendered).toEqual({ ok: true, body: { a: '3', b: 'false', c: 'o={"a":1,"b":["x\\"y"]}', d: '[1,"two"]' } });
  });

  it('renders plain strings as mustache would with escaping off', () => {
    const template = 'a {{item.quotes}} b {{{item.html}}} c {{ item.newlines }}\n  {{&item.unicode}}  \n';
    const rendered = render(pipeline({ name: 'a', body: { t: template } }).steps[0], item);
    expect(rendered).toMatchObject({
      ok: true,
      body: { t: Mustache.render(template, { item }, {}, { escape: String }) },
    });
  });

  it('follows json paths into a structured answer', () => {
    const steps = { s: { text: '...', json: { title: 'T', tags: ['a', 'b'], meta: { n: 2, deep: { ok: true } } } } };
    const p = pipeline(
      { name: 's', body: chat('x'), outputSchema: { type: 'object' } },
      {
        name: 't',
        body: { a: '{{steps.s.json.tags.1}}', b: '{{steps.s.json.meta.deep}}', c: '{{steps.s.json.meta.n}}' },
      },
      { name: 'u', body: { a: '{{steps.s.json.nope}}' } },
      { name: 'v', body: { a: '{{steps.s.json.title.x}}' } },
    );
    expect(checkPipeline(p)).toEqual([]);
    expect(render(p.steps[1], item, steps)).toEqual({ ok: true, body: { a: 'b', b: '{"ok":true}', c: '2' } });
    expect(render(p.steps[2], item, steps)).toEqual({
      ok: false,
      reference: 'steps.s.json.nope',
      message: '{{steps.s.json.nope}} has no value: steps.s.json has no field "nope"',
    });
    expect(render(p.steps[3], item, steps)).toMatchObject({ ok: false, reference: 'steps.s.json.title.x' });
    expect(render(p.steps[1], item, {})).toEqual({
      ok: false,
      reference: 'steps.s.json.tags.1',
      message: '{{steps.s.json.tags.1}} has no value: step s has no output',
    });
    expect(render(p.steps[1], item, { s: { text: 'x' } })).toMatchObject({
      ok: false,
      reference: 'steps.s.json.tags.1',
    });
  });

  it("sets the body's model from step.model, itself a template", () => {
    const step = pipeline({ name: 'a', model: 'gpt-{{item.size}}', body: chat('hi') }).steps[0];
    expect(render(step, { custom_id: 'x', size: 'large' })).toEqual({
      ok: true,
      model: 'gpt-large',
      body: { ...chat('hi'), model: 'gpt-large' },
    });
  });

  it('keeps a __proto__ key of the body as a plain key', () => {
    const body = JSON.parse('{"__proto__": {"x": "{{item.topic}}"}, "y": "{{item.topic}}"}');
    // Built by hand: zod's record drops such a key, but a step need not come through the schema.
    const step: PipelineStep = { name: 'a', endpoint: '/v1/chat/completions', body };
    const rendered = render(step, { custom_id: 'x', topic: 't' });
    if (!rendered.ok) throw new Error(rendered.message);
    expect(JSON.stringify(rendered.body)).toBe('{"__proto__":{"x":"t"},"y":"t"}');
    expect(Object.getPrototypeOf(rendered.body)).toBe(Object.prototype);
  });
});

describe('immutability and reuse', () => {
  const deepFreeze = <T>(value: T): T => {
    if (typeof value === 'object' && value !== null) {
      Object.values(value).forEach(deepFreeze);
      Object.freeze(value);
    }
    return value;
  };

  it('mutates neither the step nor the context', () => {
    const p = headlineIntro();
    const step = deepFreeze({ ...(p.steps[1] as PipelineStep), model: 'm-{{item.topic}}' });
    const ctx = deepFreeze({
      item: { custom_id: 'x', topic: 't', meta: { lang: 'en' } },
      steps: { headline: { text: 'T', json: { title: 'T' } } },
    });
    const before = structuredClone({ step, ctx });
    const rendered = renderStep(step, ctx);
    expect(rendered.ok).toBe(true);
    expect({ step, ctx }).toEqual(before);
    const constant = deepFreeze(pipeline({ name: 'c', model: 'other', body: chat('no templates') }).steps[0]);
    expect(renderStep(constant as PipelineStep, ctx)).toMatchObject({ ok: true, body: { model: 'other' } });
    expect(constant?.body.model).toBe('gpt-4o-mini');
  });

  it('renders the same step for many items, each with its own values', () => {
    const step = headlineIntro().steps[0] as PipelineStep;
    const started = performance.now();
    for (let i = 0; i < 20_000; i++) {
      const rendered = renderStep(step, {
        item: { custom_id: `${i}`, topic: `t${i}`, meta: { lang: 'en' } },
        steps: {},
      });
      if (
        !rendered.ok ||
        (rendered.body.messages as { content: string }[])[0]?.content !== `Write a headline about t${i} in en.`
      ) {
        throw new Error(`item ${i} rendered wrong`);
      }
    }
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
