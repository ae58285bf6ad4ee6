// What every page shares: htm bound to Preact, the formatters, and small components.
import { h } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);

const numbers = new Intl.NumberFormat('en-US');
export const count = (n) => (n === null || n === undefined ? '–' : numbers.format(n));
/** Dollars: cents, or four decimals below a cent (a few requests cost fractions of one), never a misleading $0.0000. */
export function usd(n) {
  if (n === null || n === undefined) return '–';
  if (n > 0 && n < 0.0001) return '< $0.0001';
  return `$${n < 0.01 && n > 0 ? n.toFixed(4) : n.toFixed(2)}`;
}
export const rate = (n) => (n ? `${n.toFixed(1)}/s` : '–');
/** Local time as 2026-12-07 14:03:13: one order for every reader, sortable by eye. */
export function dateTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  const two = (n) => String(n).padStart(2, '0');
  const day = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
  return `${day} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}
/** Ids share their prefix (`batch_01a2…`), so the short form keeps both ends: `batch_…909bdd`. */
export const shortId = (id) => (id.length > 14 ? `${id.slice(0, 6)}…${id.slice(-6)}` : id);

/** An ETA as time left ("2m 10s"), which reads faster than a clock time while watching a batch. */
export function eta(iso, status) {
  if (status !== 'running' || !iso) return '–';
  const s = Math.max(0, Math.round((Date.parse(iso) - Date.now()) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** Batches still moving: worth polling while any of them is. */
export const isLive = (status) => status === 'running' || status === 'paused' || status === 'scheduled';

export function StatusBadge({ status }) {
  return html`<span class="badge badge-${status}">${status}</span>`;
}

/** Settled share of the batch: succeeded and failed of total, with the numbers as text for screen readers. */
export function ProgressBar({ batch }) {
  const done = batch.succeeded + batch.failed;
  const pct = batch.total ? Math.round((done / batch.total) * 100) : 0;
  const ok = batch.total ? (batch.succeeded / batch.total) * 100 : 0;
  const bad = batch.total ? (batch.failed / batch.total) * 100 : 0;
  const label = `${count(done)} of ${count(batch.total)} settled (${pct}%)`;
  return html`<div
    class="progress"
    role="progressbar"
    aria-valuemin="0"
    aria-valuemax=${batch.total}
    aria-valuenow=${done}
    aria-valuetext=${label}
    title=${label}
  >
    <span class="progress-ok" style=${`width:${ok}%`}></span>
    <span class="progress-failed" style=${`width:${bad}%`}></span>
  </div>`;
}

/** The API's refusal, read out by screen readers as it appears. */
export function ErrorNote({ error, id }) {
  if (!error) return null;
  return html`<p class="error" role="alert" id=${id}>${error}</p>`;
}

/** Calls `load` every `ms` while `active`; the latest `load` is used, so a poll never runs a stale closure. */
export function usePoll(load, ms, active) {
  const latest = useRef(load);
  latest.current = load;
  useEffect(() => {
    if (!active) return undefined;
    const timer = setInterval(() => void latest.current(), ms);
    return () => clearInterval(timer);
  }, [ms, active]);
}

export const batchLink = (id) => `#/batches/${encodeURIComponent(id)}`;
