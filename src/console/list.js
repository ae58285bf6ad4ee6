// The batches list: GET /batches with the status and date filters, paged by next_cursor, refreshed every
// 2 s while a batch on the page is running or paused.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { getJson } from './api.js';
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
  shortId,
  StatusBadge,
  usd,
  usePoll,
} from './ui.js';

const STATUSES = ['scheduled', 'running', 'paused', 'completed', 'cancelled', 'failed'];
/** Batches a page (the API's `limit`): 20 by default, as the API's. */
const PAGE_SIZES = ['5', '20', '50', '100'];

/** A date input's day as the API's ISO time: the start of that local day, or with `end` the start of the next. */
function dayBound(day, end) {
  if (!day) return undefined;
  const start = new Date(`${day}T00:00`);
  if (end) start.setDate(start.getDate() + 1);
  return start.toISOString();
}

function listQuery(filters, cursor) {
  const q = new URLSearchParams({ limit: filters.limit });
  if (filters.status) q.set('status', filters.status);
  const after = dayBound(filters.from, false);
  const before = dayBound(filters.to, true);
  if (after) q.set('created_after', after);
  if (before) q.set('created_before', before);
  if (cursor) q.set('cursor', cursor);
  return `/batches?${q}`;
}

function Filters({ filters, onChange }) {
  const set = (name) => (e) => onChange({ ...filters, [name]: e.currentTarget.value });
  return html`<form class="filters" aria-label="Filter batches" onSubmit=${(e) => e.preventDefault()}>
    <label
      >Status
      <select value=${filters.status} onChange=${set('status')}>
        <option value="">any</option>
        ${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
      </select>
    </label>
    <label>Created from <input type="date" value=${filters.from} onChange=${set('from')} /></label>
    <label>Created to <input type="date" value=${filters.to} onChange=${set('to')} /></label>
    <label
      >Per page
      <select value=${filters.limit} onChange=${set('limit')}>
        ${PAGE_SIZES.map((n) => html`<option value=${n}>${n}</option>`)}
      </select>
    </label>
  </form>`;
}

function Row({ batch }) {
  return html`<tr>
    <td>
      <a href=${batchLink(batch.id)} title=${batch.id}><code>${shortId(batch.id)}</code></a>
    </td>
    <td><${StatusBadge} status=${batch.status} /></td>
    <td>${batch.mode}</td>
    <td>${batch.model ?? '–'}</td>
    <td class="cell-progress"><${ProgressBar} batch=${batch} /></td>
    <td class="num">${count(batch.succeeded)} ok · ${count(batch.failed)} failed · ${count(batch.total)}</td>
    <td class="num">${rate(batch.ratePerSecond)}</td>
    <td class="num">${eta(batch.eta, batch.status)}</td>
    <td class="num">${usd(batch.costUsd)}</td>
    <td>${dateTime(batch.createdAt)}</td>
  </tr>`;
}

function BatchTable({ batches }) {
  if (batches.length === 0) return html`<p class="notice">No batches match. <a href="#/submit">Submit one</a>.</p>`;
  return html`<div class="table-scroll" role="region" aria-label="Batches" tabindex="0">
    <table class="batches">
      <thead>
        <tr>
          <th scope="col">Batch</th>
          <th scope="col">Status</th>
          <th scope="col">Mode</th>
          <th scope="col">Model</th>
          <th scope="col">Progress</th>
          <th scope="col">Items</th>
          <th scope="col">Rate</th>
          <th scope="col">ETA</th>
          <th scope="col">Cost</th>
          <th scope="col">Created</th>
        </tr>
      </thead>
      <tbody>
        ${batches.map((b) => html`<${Row} key=${b.id} batch=${b} />`)}
      </tbody>
    </table>
  </div>`;
}

export function ListPage() {
  const [filters, setFilters] = useState({ status: '', from: '', to: '', limit: '20' });
  // The cursors of the pages opened so far: the last one is shown, and Previous drops it.
  const [cursors, setCursors] = useState([null]);
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  const cursor = cursors[cursors.length - 1];
  // The query last sent: an answer to an earlier one (a poll still in flight when the filters changed) is dropped,
  // or it would put the old page back over the new one.
  const latest = useRef(null);
  const load = useCallback(async () => {
    const query = listQuery(filters, cursor);
    latest.current = query;
    try {
      const answer = await getJson(query);
      if (latest.current !== query) return;
      setPage(answer);
      setError(null);
    } catch (err) {
      if (latest.current === query) setError(err.message);
    }
  }, [filters, cursor]);
  useEffect(() => void load(), [load]);
  const live = page?.data.some((b) => isLive(b.status)) ?? false;
  usePoll(load, 2000, live);
  const filter = (next) => {
    setFilters(next);
    setCursors([null]);
  };
  return html`<section aria-labelledby="list-title">
    <h1 id="list-title">Batches</h1>
    <${Filters} filters=${filters} onChange=${filter} />
    <${ErrorNote} error=${error} />
    ${page && html`<${BatchTable} batches=${page.data} />`}
    <nav class="pager" aria-label="Pages of batches">
      <button type="button" disabled=${cursors.length === 1} onClick=${() => setCursors(cursors.slice(0, -1))}>
        Previous page
      </button>
      <span>Page ${cursors.length}${live ? ' · refreshing every 2 s' : ''}</span>
      <button type="button" disabled=${!page?.next_cursor} onClick=${() => setCursors([...cursors, page.next_cursor])}>
        Next page
      </button>
    </nav>
  </section>`;
}
