// The batch's controls: pause, resume, cancel (after a confirmation), priority, concurrency and retrying its dead
// letters as a new batch. The API decides what is allowed: a refusal (say 409 while it runs) shows its message.
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { postJson } from './api.js';
import { batchLink, ErrorNote, html } from './ui.js';

function useAction(batch, onChanged) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [done, setDone] = useState(null);
  const run = async (label, route, body) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const answer = await postJson(`/batches/${encodeURIComponent(batch.id)}/${route}`, body);
      setDone({ label, answer });
      await onChanged();
    } catch (err) {
      setError(`${label} refused: ${err.message}`);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, done, run };
}

function CancelButton({ busy, run }) {
  const [asking, setAsking] = useState(false);
  // The button pressed is replaced by the question: keyboard focus moves to its safe answer, not to the page's top.
  const keep = useRef(null);
  useLayoutEffect(() => keep.current?.focus(), [asking]);
  if (!asking)
    return html`<button type="button" class="danger" disabled=${busy} onClick=${() => setAsking(true)}>
      Cancel…
    </button>`;
  const answer = (yes) => () => {
    setAsking(false);
    if (yes) void run('Cancel', 'cancel');
  };
  return html`<span class="confirm" role="group" aria-label="Confirm cancelling">
    <span>Cancel this batch? Finished results are kept; the rest is not run.</span>
    <button type="button" class="danger" onClick=${answer(true)}>Yes, cancel the batch</button>
    <button type="button" ref=${keep} onClick=${answer(false)}>Keep it</button>
  </span>`;
}

function Outcome({ done }) {
  if (!done) return null;
  if (done.label === 'Retry dead letters')
    return html`<p class="ok" role="status">
      Retry batch created: <a href=${batchLink(done.answer.id)}>${done.answer.id}</a> (${done.answer.total} items)
    </p>`;
  return html`<p class="ok" role="status">${done.label}: done.</p>`;
}

export function Actions({ batch, onChanged }) {
  const { busy, error, done, run } = useAction(batch, onChanged);
  const [priority, setPriority] = useState(String(batch.priority));
  const [concurrency, setConcurrency] = useState(String(batch.maxChunksInFlight || 1));
  const setP = (e) => {
    e.preventDefault();
    void run('Priority', 'priority', { priority: Number(priority) });
  };
  const setC = (e) => {
    e.preventDefault();
    void run('Concurrency', 'concurrency', { maxChunksInFlight: Number(concurrency) });
  };
  return html`<section aria-labelledby="actions-title">
    <h2 id="actions-title">Actions</h2>
    <div class="buttons">
      <button type="button" disabled=${busy} onClick=${() => run('Pause', 'pause')}>Pause</button>
      <button type="button" disabled=${busy} onClick=${() => run('Resume', 'resume')}>Resume</button>
      <${CancelButton} busy=${busy} run=${run} />
      <button type="button" disabled=${busy} onClick=${() => run('Retry dead letters', 'retry')}>
        Retry dead letters (${batch.failed})
      </button>
    </div>
    <div class="inline-forms">
      <form onSubmit=${setP}>
        <label for="priority">Priority (1 first, 5 last)</label>
        <select id="priority" value=${priority} onChange=${(e) => setPriority(e.currentTarget.value)}>
          ${[1, 2, 3, 4, 5].map((p) => html`<option value=${String(p)}>${p}</option>`)}
        </select>
        <button type="submit" disabled=${busy}>Set priority</button>
      </form>
      <form onSubmit=${setC}>
        <label for="concurrency">Chunks at once</label>
        <input
          id="concurrency"
          type="number"
          min="1"
          max="10000"
          required
          value=${concurrency}
          onInput=${(e) => setConcurrency(e.currentTarget.value)}
        />
        <button type="submit" disabled=${busy}>Set concurrency</button>
      </form>
    </div>
    <${ErrorNote} error=${error} id="action-error" />
    <${Outcome} done=${done} />
  </section>`;
}
