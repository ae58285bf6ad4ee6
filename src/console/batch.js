// One batch: live progress from GET /batches/:id (polled while it runs or is paused), its links, the actions,
// downloads, the failures grouped by error code, and a preview of its first results.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { download, getJson, readLines } from './api.js';
import { Actions } from './actions.js';
import { Failures } from './failures.js';
import {
  batchLink,
  count,
  dateTime,
  ErrorNote,
  eta,
  html,
  isLive,
  ProgressBar,
  rate,
  StatusBadge,
  usd,
  usePoll,
} from './ui.js';

const PREVIEW_LINES = 50;

function costText(b) {
  return b.budgetUsd === undefined ? usd(b.costUsd) : `${usd(b.costUsd)} of ${usd(b.budgetUsd)} budget`;
}

/** The run window (options.window): its hours and zone, and when it closes or next opens. */
function runWindowText(w) {
  const hours = `${w.start}–${w.end} ${w.timezone}`;
  return w.open ? `${hours}, open until ${dateTime(w.closesAt)}` : `${hours}, next opens ${dateTime(w.opensAt)}`;
}

function Summary({ batch: b }) {
  const items = [
    ['Succeeded', count(b.succeeded)],
    ['Failed', count(b.failed)],
    ['Pending', count(b.pending)],
    ['In flight', `${count(b.itemsInFlight)} items, ${count(b.chunksInFlight)} chunk(s)`],
    ['Total', count(b.total)],
    ['Tokens', `${count(b.tokensIn)} in · ${count(b.tokensOut)} out`],
    ['Cost', costText(b)],
    ['Rate', rate(b.ratePerSecond)],
    ['ETA', eta(b.eta, b.status)],
    ['Mode', b.modeReason ? `${b.mode} (${b.modeReason})` : b.mode],
    ['Model', b.model ?? '–'],
    ['Priority', String(b.priority)],
    ['Concurrency', `up to ${count(b.maxChunksInFlight)} chunk(s) at once`],
    ['Runs', count(b.runs)],
    ['Created', dateTime(b.createdAt)],
    ['Updated', dateTime(b.updatedAt)],
  ];
  if (b.notBefore) items.push(['Starts', dateTime(b.notBefore)]);
  if (b.pauseReason) items.push(['Paused by', b.pauseReason]);
  if (b.window) items.push(['Window', runWindowText(b.window)]);
  // Structured outputs and pipelines: shown only for batches that have them.
  if (b.repaired || b.invalidOutput)
    items.push(['Repairs', `${count(b.repaired)} sent · ${count(b.invalidOutput)} still invalid`]);
  for (const [name, s] of Object.entries(b.steps ?? {}))
    items.push([`Step ${name}`, `${count(s.succeeded)} past · ${count(s.failed)} stopped here`]);
  return html`<dl class="summary">
    ${items.map(
      ([k, v]) =>
        html`<div>
          <dt>${k}</dt>
          <dd data-field=${k.toLowerCase()}>${v}</dd>
        </div>`,
    )}
  </dl>`;
}

function Links({ batch, settings }) {
  const workflow = settings.temporalUiUrl
    ? `${settings.temporalUiUrl}/namespaces/${encodeURIComponent(settings.namespace)}/workflows/` +
      encodeURIComponent(`batch-${batch.id}`)
    : null;
  return html`<ul class="links">
    ${
      batch.retryOf &&
      html`<li>Retries the dead letters of <a href=${batchLink(batch.retryOf)}>${batch.retryOf}</a></li>`
    }
    ${batch.retriedBy.map((id) => html`<li>Dead letters retried by <a href=${batchLink(id)}>${id}</a></li>`)}
    ${
      workflow &&
      html`<li>
        <a href=${workflow} target="_blank" rel="noopener">Workflow batch-${batch.id} in the Temporal Web UI</a>
      </li>`
    }
  </ul>`;
}

const providerCounts = (c) => (c ? `${c.completed} done, ${c.failed} failed of ${c.total}` : '–');

function ProviderBatches({ batches }) {
  if (!batches?.length) return null;
  return html`<section aria-labelledby="pb-title">
    <h2 id="pb-title">Provider batches</h2>
    <div class="table-scroll" role="region" aria-label="Provider batches" tabindex="0">
      <table>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">State</th>
            <th scope="col">Provider id</th>
            <th scope="col">Done</th>
          </tr>
        </thead>
        <tbody>
          ${batches.map(
            (p) =>
              html`<tr>
                <td>${p.index}</td>
                <td>${p.status ?? p.state}</td>
                <td><code>${p.providerBatchId ?? '–'}</code></td>
                <td>${providerCounts(p.requestCounts)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
  </section>`;
}

/** The /v1 output and error files of a batch created through /v1, once it has them. */
function useV1Files(batch) {
  const [files, setFiles] = useState(null);
  const ended = !isLive(batch.status);
  useEffect(() => {
    if (batch.api !== 'v1' || !ended) return;
    getJson(`/v1/batches/${encodeURIComponent(batch.id)}`).then(setFiles, () => setFiles(null));
  }, [batch.id, batch.api, ended]);
  return files;
}

function Downloads({ batch }) {
  const [error, setError] = useState(null);
  const v1 = useV1Files(batch);
  const base = `/batches/${encodeURIComponent(batch.id)}/results`;
  const save = (path, name) => () =>
    download(path, name).then(
      () => setError(null),
      (err) => setError(err.message),
    );
  return html`<section aria-labelledby="dl-title">
    <h2 id="dl-title">Downloads</h2>
    <div class="buttons">
      <button type="button" onClick=${save(base, `${batch.id}-results.jsonl`)}>Results (.jsonl)</button>
      <button type="button" onClick=${save(`${base}?status=failed`, `${batch.id}-failures.jsonl`)}>
        Failures (.jsonl)
      </button>
      ${
        v1?.output_file_id &&
        html`<button
          type="button"
          onClick=${save(`/v1/files/${v1.output_file_id}/content`, `${batch.id}-output.jsonl`)}
        >
          /v1 output file
        </button>`
      }
      ${
        v1?.error_file_id &&
        html`<button type="button" onClick=${save(`/v1/files/${v1.error_file_id}/content`, `${batch.id}-errors.jsonl`)}>
          /v1 error file
        </button>`
      }
    </div>
    <${ErrorNote} error=${error} />
  </section>`;
}

function ResultsPreview({ batch }) {
  const [preview, setPreview] = useState(null);
  const [error, setError] = useState(null);
  const show = async () => {
    try {
      setPreview(await readLines(`/batches/${encodeURIComponent(batch.id)}/results`, PREVIEW_LINES));
      setError(null);
    } catch (err) {
      setError(err.message);
    }
  };
  return html`<section aria-labelledby="preview-title">
    <h2 id="preview-title">Results preview</h2>
    <button type="button" onClick=${show}>
      ${preview ? 'Refresh preview' : `Show the first ${PREVIEW_LINES} results`}
    </button>
    <${ErrorNote} error=${error} />
    ${
      preview &&
      html`<p>${preview.lines.length} line(s)${preview.more ? `, the first ${PREVIEW_LINES}` : ''}.</p>
        <pre class="preview" tabindex="0" aria-label="First results as JSON">
${preview.lines.map((l) => JSON.stringify(l, null, 2)).join('\n')}</pre>`
    }
  </section>`;
}

export function BatchPage({ id, settings }) {
  const [batch, setBatch] = useState(null);
  const [error, setError] = useState(null);
  const load = useCallback(async () => {
    try {
      setBatch(await getJson(`/batches/${encodeURIComponent(id)}`));
      setError(null);
    } catch (err) {
      setError(err.message);
    }
  }, [id]);
  useEffect(() => {
    setBatch(null);
    void load();
  }, [load]);
  usePoll(load, 1000, batch !== null && isLive(batch.status));
  if (!batch) return html`<${ErrorNote} error=${error} />${!error && html`<p>Loading batch ${id}…</p>`}`;
  return html`<section aria-labelledby="batch-title" class="batch">
    <h1 id="batch-title">Batch <code>${batch.id}</code></h1>
    <p class="status-line"><${StatusBadge} status=${batch.status} /> <${ProgressBar} batch=${batch} /></p>
    ${batch.error && html`<p class="error">Failed: ${batch.error}</p>`}
    <${ErrorNote} error=${error} />
    <${Summary} batch=${batch} />
    <${Links} batch=${batch} settings=${settings} />
    <${ProviderBatches} batches=${batch.providerBatches} />
    <${Actions} batch=${batch} onChanged=${load} />
    <${Failures} batch=${batch} />
    <${ResultsPreview} batch=${batch} />
    <${Downloads} batch=${batch} />
  </section>`;
}
