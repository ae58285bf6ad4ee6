// Submitting a batch: a JSONL file (dropped or picked) sent as POST /batches' NDJSON body with the options as query
// parameters. A bad line is refused whole (400 naming the line) and nothing is created: the reason shows by the file.
import { useState } from 'preact/hooks';
import { submitFile } from './api.js';
import { batchLink, html } from './ui.js';

/** The form's fields → the API's query parameters; empty fields are left to the API's defaults. */
function paramsOf(form) {
  const params = {};
  const put = (name, value) => {
    if (value !== '') params[name] = value;
  };
  put('mode', form.mode);
  put('model', form.model.trim());
  put('priority', form.priority);
  if (form.deadline) params.deadline = new Date(form.deadline).toISOString();
  put('budget_usd', form.budget);
  put('webhook_url', form.webhook.trim());
  put('max_attempts', form.maxAttempts);
  return params;
}

function DropZone({ file, onFile, describedBy }) {
  const [over, setOver] = useState(false);
  const drop = (e) => {
    e.preventDefault();
    setOver(false);
    const dropped = e.dataTransfer?.files?.[0];
    if (dropped) onFile(dropped);
  };
  const dragOver = (e) => {
    e.preventDefault();
    setOver(true);
  };
  return html`<div
    class=${`dropzone${over ? ' over' : ''}`}
    onDrop=${drop}
    onDragOver=${dragOver}
    onDragLeave=${() => setOver(false)}
  >
    <label for="batch-file">Batch file (JSONL: one request per line)</label>
    <input
      id="batch-file"
      type="file"
      accept=".jsonl,.ndjson,.json,application/x-ndjson"
      aria-describedby=${describedBy}
      onChange=${(e) => onFile(e.currentTarget.files?.[0] ?? null)}
    />
    <p class="hint">or drop it here${file ? html` · <strong>${file.name}</strong> (${file.size} bytes)` : ''}</p>
  </div>`;
}

const FIELDS = { mode: '', model: '', priority: '', deadline: '', budget: '', webhook: '', maxAttempts: '' };

function Options({ form, set }) {
  return html`<fieldset class="options">
    <legend>Options (empty: the API's defaults)</legend>
    <label
      >Mode
      <select value=${form.mode} onChange=${set('mode')}>
        <option value="">default</option>
        <option value="realtime">realtime</option>
        <option value="native">native (provider Batch API)</option>
        <option value="auto">auto</option>
      </select>
    </label>
    <label
      >Model (for lines without one) <input value=${form.model} onInput=${set('model')} placeholder="gpt-4o-mini"
    /></label>
    <label
      >Priority
      <select value=${form.priority} onChange=${set('priority')}>
        <option value="">default (3)</option>
        ${[1, 2, 3, 4, 5].map((p) => html`<option value=${String(p)}>${p}</option>`)}
      </select>
    </label>
    <label>Deadline <input type="datetime-local" value=${form.deadline} onInput=${set('deadline')} /></label>
    <label
      >Budget (USD) <input type="number" min="0" step="0.01" value=${form.budget} onInput=${set('budget')}
    /></label>
    <label
      >Webhook URL <input type="url" value=${form.webhook} onInput=${set('webhook')} placeholder="https://…"
    /></label>
    <label
      >Attempts per item <input type="number" min="1" max="20" value=${form.maxAttempts} onInput=${set('maxAttempts')}
    /></label>
  </fieldset>`;
}

/** The API's reason for refusing the file, with the line it names (details.line) set apart. */
function Refusal({ refusal }) {
  if (!refusal) return null;
  const line = refusal.details?.line;
  return html`<div class="error" role="alert" id="upload-error">
    ${line !== undefined && html`<strong class="bad-line">Line ${line}</strong>: `}${refusal.message}
    <p>Nothing was created.</p>
  </div>`;
}

export function SubmitPage() {
  const [file, setFile] = useState(null);
  const [form, setForm] = useState(FIELDS);
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState(null);
  const set = (name) => (e) => setForm({ ...form, [name]: e.currentTarget.value });
  const pick = (picked) => {
    setFile(picked);
    setRefusal(null);
  };
  const submit = async (e) => {
    e.preventDefault();
    if (!file) return setRefusal({ message: 'Choose a JSONL file first.' });
    setBusy(true);
    setRefusal(null);
    try {
      const created = await submitFile(file, paramsOf(form));
      location.hash = batchLink(created.id);
    } catch (err) {
      setRefusal({ message: err.message, details: err.details });
    } finally {
      setBusy(false);
    }
  };
  return html`<section aria-labelledby="submit-title">
    <h1 id="submit-title">Submit a batch</h1>
    <form class="submit" onSubmit=${submit}>
      <${DropZone} file=${file} onFile=${pick} describedBy=${refusal ? 'upload-error' : undefined} />
      <${Refusal} refusal=${refusal} />
      <${Options} form=${form} set=${set} />
      <button type="submit" class="primary" disabled=${busy}>${busy ? 'Submitting…' : 'Submit batch'}</button>
    </form>
  </section>`;
}
