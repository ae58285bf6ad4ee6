// The dead letters of a batch (GET /batches/:id/results?status=failed): grouped by error code with counts and
// sample messages, then the lines themselves, a page at a time, optionally of one code.
import { useEffect, useState } from 'preact/hooks';
import { readLines } from './api.js';
import { count, ErrorNote, html } from './ui.js';

/** Read at most this many failed lines: enough to group and page through, bounded for a huge batch. */
const MAX_READ = 10_000;
const PAGE = 20;
const SAMPLES = 3;

function groupByCode(lines) {
  const groups = new Map();
  for (const line of lines) {
    const code = line.error?.code ?? `HTTP ${line.response?.status_code ?? '?'}`;
    const message = line.error?.message ?? '';
    const group = groups.get(code) ?? { code, count: 0, samples: [] };
    group.count += 1;
    if (group.samples.length < SAMPLES && message && !group.samples.includes(message)) group.samples.push(message);
    groups.set(code, group);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count);
}

function Groups({ groups }) {
  return html`<div class="table-scroll" role="region" aria-label="Failures by error code" tabindex="0">
    <table class="failure-groups">
      <caption>
        Failures by error code
      </caption>
      <thead>
        <tr>
          <th scope="col">Error code</th>
          <th scope="col">Count</th>
          <th scope="col">Sample messages</th>
        </tr>
      </thead>
      <tbody>
        ${groups.map(
          (g) =>
            html`<tr data-code=${g.code}>
              <td><code>${g.code}</code></td>
              <td class="num">${count(g.count)}</td>
              <td>
                <ul class="samples">
                  ${g.samples.map((m) => html`<li>${m}</li>`)}
                </ul>
              </td>
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

function Lines({ lines, groups }) {
  const [code, setCode] = useState('');
  const [page, setPage] = useState(0);
  const shown = code ? lines.filter((l) => l.error?.code === code) : lines;
  const pages = Math.max(1, Math.ceil(shown.length / PAGE));
  const rows = shown.slice(page * PAGE, (page + 1) * PAGE);
  return html`<div class="failed-lines">
    <label
      >Failed lines of
      <select
        value=${code}
        onChange=${(e) => {
          setCode(e.currentTarget.value);
          setPage(0);
        }}
      >
        <option value="">every code</option>
        ${groups.map((g) => html`<option value=${g.code}>${g.code}</option>`)}
      </select>
    </label>
    <div class="table-scroll" role="region" aria-label="Failed lines" tabindex="0">
      <table>
        <caption>
          Failed lines, page ${page + 1} of ${pages}
        </caption>
        <thead>
          <tr>
            <th scope="col">custom_id</th>
            <th scope="col">Error code</th>
            <th scope="col">Message</th>
          </tr>
        </thead>
        <tbody>
          ${rows.map(
            (l) =>
              html`<tr>
                <td><code>${l.custom_id}</code></td>
                <td><code>${l.error?.code ?? '–'}</code></td>
                <td>${l.error?.message ?? ''}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
    <nav class="pager" aria-label="Pages of failed lines">
      <button type="button" disabled=${page === 0} onClick=${() => setPage(page - 1)}>Previous lines</button>
      <span>${count(shown.length)} line(s)</span>
      <button type="button" disabled=${page + 1 >= pages} onClick=${() => setPage(page + 1)}>Next lines</button>
    </nav>
  </div>`;
}

export function Failures({ batch }) {
  const [open, setOpen] = useState(false);
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  // Re-read when the count of failures moves, so the table follows a running batch.
  useEffect(() => {
    if (!open) return;
    readLines(`/batches/${encodeURIComponent(batch.id)}/results?status=failed`, MAX_READ).then(
      (read) => {
        setData({ ...read, groups: groupByCode(read.lines) });
        setError(null);
      },
      (err) => setError(err.message),
    );
  }, [open, batch.id, batch.failed]);
  return html`<section aria-labelledby="failures-title">
    <h2 id="failures-title">Failures</h2>
    <button type="button" aria-expanded=${open} aria-controls="failures-body" onClick=${() => setOpen(!open)}>
      ${open ? 'Hide failures' : `Show failures (${count(batch.failed)})`}
    </button>
    <${ErrorNote} error=${error} />
    <div id="failures-body" hidden=${!open}>
      ${data && data.lines.length === 0 && html`<p>No failed lines.</p>`}
      ${data?.more && html`<p>Showing the first ${count(MAX_READ)} failed lines.</p>`}
      ${
        data &&
        data.lines.length > 0 &&
        html`<${Groups} groups=${data.groups} /><${Lines} lines=${data.lines} groups=${data.groups} />`
      }
    </div>
  </section>`;
}
