/**
 * What each command of docs/runbook.md must do, keyed by a short substring of the command (the longest key
 * that a command contains is its row). The commands run in the runbook's order against bench/opsScene.ts's
 * batches, so a row may count on what the rows before it did (the pause before the resume).
 */
import type { BatchRole, Scene } from '../../bench/opsScene';
import type { BatchView } from '../../src/shared/views';

export interface StepContext {
  scene: Scene;
  /** The workflow id of one of the scene's batches. */
  wf(role: BatchRole): string;
  /** The workflow ids that `temporal workflow list --query <query>` lists (each once, whatever its runs). */
  listIds(query: string): Promise<string[]>;
  /** The run id of a workflow's current (latest) run, from `temporal workflow describe`. */
  runId(workflowId: string): Promise<string>;
  /** The batch as its tenant's key sees it through the API. */
  view(role: BatchRole): Promise<BatchView>;
  /** Retries `check` (its expect calls) until it passes or `ms` run out. */
  eventually(check: () => Promise<void> | void, ms?: number): Promise<void>;
}

export interface Step {
  /** A short substring of the command. */
  match: string;
  /** The batch that BATCH_ID (and WORKFLOW_ID) name for this command; default `running`. */
  batch?: BatchRole;
  /** Runs before the command; what it returns goes to check. */
  before?: (ctx: StepContext) => Promise<unknown>;
  /** The command's effect, checked after it exited 0 (`out`: its stdout). */
  check(out: string, ctx: StepContext, before: unknown): Promise<void> | void;
}

interface Lane {
  taskQueue: string;
  limit: { source: string; chunksPerSecond: number | null };
}

async function laneLimit(scene: Scene): Promise<Lane['limit'] | undefined> {
  const lanes = await scene.client('acme').json<{ data: Lane[] }>('GET', '/lanes');
  return lanes.data.find((l) => l.taskQueue === scene.laneQueue)?.limit;
}

const idsOf = (json: string): string[] => (JSON.parse(json) as { data: { id: string }[] }).data.map((b) => b.id);

/** Lists `ids` and none of `absent` (workflow ids, in a command's text output). */
function shows(out: string, ids: string[], absent: string[]): void {
  for (const id of ids) expect(out).toContain(id);
  for (const id of absent) expect(out).not.toContain(id);
}

const listing: Step[] = [
  {
    match: 'workflow list --query "LlmbatchTenant=',
    check: (out, c) => shows(out, [c.wf('running'), c.wf('toCancel')], [c.wf('otherTenant'), c.wf('completed')]),
  },
  {
    match: '"$API/batches?status=running"',
    check: (out, c) => {
      const ids = idsOf(out);
      expect(ids).toEqual(expect.arrayContaining([c.scene.batches.running, c.scene.batches.toCancel]));
      expect(ids).not.toContain(c.scene.batches.otherTenant);
      expect(ids).not.toContain(c.scene.batches.completed);
    },
  },
  {
    match: 'LlmbatchPriority <= 2',
    check: (out, c) => shows(out, [c.wf('running')], [c.wf('toCancel'), c.wf('otherTenant')]),
  },
  {
    match: "LlmbatchModel='gpt-4o-mini'",
    check: (out, c) => shows(out, [c.wf('running'), c.wf('toCancel')], [c.wf('otherTenant'), c.wf('completed')]),
  },
  { match: 'workflow count', check: (out) => expect(out).toMatch(/Total: 2\b/) },
  {
    match: '--name progress',
    check: (out, c) => {
      expect(out).toContain(`"batchId":"${c.scene.batches.running}"`);
      expect(out).toContain('"status":"running"');
    },
  },
  {
    match: '"$API/batches/$BATCH_ID"',
    check: (out, c) => expect(JSON.parse(out)).toMatchObject({ id: c.scene.batches.running, status: 'running' }),
  },
  {
    match: 'workflow describe',
    check: (out, c) => {
      expect(out).toContain(c.wf('running'));
      expect(out).toContain('LlmbatchTenant');
      expect(out).toContain('2,000 × gpt-4o-mini chat · realtime · tenant acme');
    },
  },
];

const signals: Step[] = [
  {
    match: '--name pause',
    check: (_out, c) =>
      c.eventually(async () => {
        expect((await c.view('running')).status).toBe('paused');
        expect(await c.listIds("LlmbatchStatus='paused'")).toEqual([c.wf('running')]);
        expect(await c.listIds("LlmbatchStatus='running'")).not.toContain(c.wf('running'));
      }),
  },
  {
    match: '--name resume',
    check: (_out, c) =>
      c.eventually(async () => {
        expect((await c.view('running')).status).toBe('running');
        expect(await c.listIds("LlmbatchStatus='running'")).toContain(c.wf('running'));
        expect(await c.listIds("LlmbatchStatus='paused'")).toEqual([]);
      }),
  },
  {
    match: '--name setPriority --input 1',
    check: (_out, c) =>
      c.eventually(async () => {
        expect((await c.view('running')).priority).toBe(1);
        expect(await c.listIds('LlmbatchPriority = 1')).toEqual([c.wf('running')]);
      }),
  },
  {
    match: '--name setConcurrency --input 2',
    check: (_out, c) => c.eventually(async () => expect((await c.view('running')).maxChunksInFlight).toBe(2)),
  },
  {
    match: '--name cancel',
    batch: 'toCancel',
    check: (_out, c) =>
      c.eventually(async () => {
        expect((await c.view('toCancel')).status).toBe('cancelled');
        expect(await c.listIds("LlmbatchStatus='cancelled'")).toEqual([c.wf('toCancel')]);
        expect((await c.view('running')).status).toBe('running');
      }),
  },
  {
    match: '--name pause --reason',
    check: (_out, c) =>
      c.eventually(async () => {
        expect((await c.view('running')).status).toBe('paused');
        expect(await c.listIds("LlmbatchStatus='paused'")).toEqual([c.wf('running')]);
        expect((await c.view('otherTenant')).status).toBe('running');
      }),
  },
  {
    match: '--name resume --reason',
    check: (_out, c) =>
      c.eventually(async () => {
        expect((await c.view('running')).status).toBe('running');
        expect(await c.listIds("LlmbatchTenant='acme' AND LlmbatchStatus='running'")).toEqual([c.wf('running')]);
      }),
  },
];

const failures: Step[] = [
  {
    match: "LlmbatchStatus='failed' AND CloseTime >",
    check: (out, c) => shows(out, [c.wf('failed')], [c.wf('completed'), c.wf('running'), c.wf('deadLetters')]),
  },
  {
    match: 'status=failed&created_after=',
    check: (out, c) => expect(idsOf(out)).toEqual([c.scene.batches.failed]),
  },
  {
    match: `"$API/batches/$BATCH_ID" | grep -o '"error"`,
    batch: 'failed',
    check: (out) => expect(out).toMatch(/^"error":".*provider rejected our credentials.*"$/m),
  },
  {
    match: '/results?status=failed',
    batch: 'deadLetters',
    check: (out) => {
      const lines = out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { custom_id: string; error: unknown });
      expect(lines.map((l) => l.custom_id).sort()).toEqual(['dead-0', 'dead-1', 'dead-2', 'dead-3', 'dead-4']);
      for (const line of lines) expect(JSON.stringify(line.error)).toContain('retries_exhausted');
    },
  },
];

const stuck: Step[] = [
  {
    match: 'task-queue describe',
    // A worker polls the lane's queue: its identity (pid@host) is listed under Pollers.
    check: (out) => expect(out).toMatch(/Pollers:[\s\S]*activity\s+\d+@\S+/),
  },
  { match: 'workflow stack', check: (out) => expect(out).toContain('batchWorkflow') },
  {
    match: 'workflow reset',
    before: async (c) => ({ runId: await c.runId(c.wf('running')), view: await c.view('running') }),
    check: async (_out, c, before) => {
      const was = before as { runId: string; view: BatchView };
      expect(await c.runId(c.wf('running'))).not.toBe(was.runId);
      // The new run goes on from where the old one was: more items done, none lost.
      await c.eventually(async () => {
        const now = await c.view('running');
        expect(now.status).toBe('running');
        expect(now.succeeded).toBeGreaterThan(was.view.succeeded);
      }, 30_000);
      expect(await c.listIds("LlmbatchTenant='acme' AND ExecutionStatus='Running'")).toContain(c.wf('running'));
      // The old run is Terminated and keeps the status it last had (what the runbook warns of).
      expect(await c.listIds("LlmbatchStatus='running' AND ExecutionStatus='Terminated'")).toEqual([c.wf('running')]);
    },
  },
];

const rateLimits: Step[] = [
  {
    match: '"$API/lanes"',
    check: (out, c) => expect(out).toContain(`"taskQueue":"${c.scene.laneQueue}"`),
  },
  {
    match: '--queue-rps-limit 0.5',
    check: (_out, c) =>
      c.eventually(async () => expect(await laneLimit(c.scene)).toMatchObject({ source: 'api', chunksPerSecond: 0.5 })),
  },
  { match: 'task-queue config get', check: (out) => expect(out).toContain('0.50 rps') },
  {
    match: '--queue-rps-limit default',
    check: (_out, c) => c.eventually(async () => expect((await laneLimit(c.scene))?.source).not.toBe('api')),
  },
];

const retry: Step[] = [
  {
    match: "LlmbatchStatus='completed' AND ExecutionStatus='Running'",
    check: (out, c) => shows(out, [c.wf('deadLetters')], [c.wf('completed'), c.wf('running')]),
  },
  {
    match: '--name retryDeadLetters',
    batch: 'deadLetters',
    check: (_out, c) =>
      c.eventually(async () => {
        expect(await c.view('deadLetters')).toMatchObject({ status: 'completed', succeeded: 5, failed: 0 });
        expect(await c.listIds("ExecutionStatus='Running'")).not.toContain(c.wf('deadLetters'));
      }, 30_000),
  },
];

const metrics: Step[] = [
  {
    match: '"$API/metrics"',
    check: (out) => {
      expect(out).toMatch(/^llmbatch_batches\{[^}]*tenant="acme"[^}]*\} [1-9]/m);
      expect(out).toMatch(/^llmbatch_items_pending\{[^}]*tenant="acme"[^}]*\} [1-9]/m);
      expect(out).toMatch(/^llmbatch_oldest_pending_chunk_age_seconds \d/m);
    },
  },
  {
    match: '"$WORKER_METRICS"',
    check: (out) => {
      expect(out).toMatch(/^llmbatch_items_total\{[^}]*outcome="succeeded"[^}]*\} [1-9]/m);
      expect(out).toMatch(/^llmbatch_items_total\{[^}]*outcome="dead_lettered"[^}]*\} [1-9]/m);
      expect(out).toMatch(/^llmbatch_provider_requests_total\{[^}]*status_class="5xx"[^}]*\} [1-9]/m);
    },
  },
];

const alerts: Step[] = [
  {
    match: '"$API/readyz"',
    check: (out) => expect(JSON.parse(out)).toMatchObject({ ok: true, checks: { temporal: 'ok' } }),
  },
];

export const STEPS: Step[] = [
  ...listing,
  ...signals,
  ...failures,
  ...stuck,
  ...rateLimits,
  ...retry,
  ...metrics,
  ...alerts,
];

/** The row of `command`: the longest key it contains; undefined when none does or two tie. */
export function stepFor(command: string): Step | undefined {
  const found = STEPS.filter((s) => command.includes(s.match)).sort((a, b) => b.match.length - a.match.length);
  if (found.length > 1 && found[0]?.match.length === found[1]?.match.length) return undefined;
  return found[0];
}
