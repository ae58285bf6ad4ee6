// The console's shell: settings from GET /console/config.json, the API key form, and the pages by URL hash
// (#/ the list, #/submit, #/batches/<id>), so the browser's back button and links work without a server route each.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { getKey, setKey } from './api.js';
import { BatchPage } from './batch.js';
import { ListPage } from './list.js';
import { SubmitPage } from './submit.js';
import { html } from './ui.js';

function useHash() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const onChange = () => setHash(location.hash);
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return hash;
}

function KeyForm({ settings, keyValue, onKey }) {
  const [draft, setDraft] = useState(keyValue);
  if (settings.auth === 'local') return html`<p class="auth-note">Local mode: no API key needed.</p>`;
  const save = (e) => {
    e.preventDefault();
    setKey(draft.trim());
    onKey(draft.trim());
  };
  return html`<form class="key-form" onSubmit=${save}>
    <label for="api-key">API key</label>
    <input
      id="api-key"
      type="password"
      autocomplete="off"
      placeholder="llmb_…"
      value=${draft}
      onInput=${(e) => setDraft(e.currentTarget.value)}
    />
    <button type="submit">Use key</button>
  </form>`;
}

function Page({ hash, settings }) {
  const batch = /^#\/batches\/([^/]+)$/.exec(hash);
  // Keyed by id: another batch's page starts afresh (no open failures table or action message carried over).
  const id = batch && decodeURIComponent(batch[1]);
  if (batch) return html`<${BatchPage} key=${id} id=${id} settings=${settings} />`;
  if (hash === '#/submit') return html`<${SubmitPage} />`;
  return html`<${ListPage} />`;
}

function App({ settings }) {
  const hash = useHash();
  const [keyValue, setKeyValue] = useState(getKey());
  const needsKey = settings.auth === 'keys' && !keyValue;
  const current = hash.startsWith('#/submit') ? 'submit' : hash.startsWith('#/batches/') ? 'batch' : 'list';
  // The tab and history say which page this is (screen readers announce it too).
  useEffect(() => {
    const page = { list: 'Batches', submit: 'Submit a batch', batch: `Batch ${hash.slice('#/batches/'.length)}` };
    document.title = `${page[current]} · llmbatch console`;
  }, [current, hash]);
  return html`<header class="top">
      <a class="brand" href="#/">llmbatch console</a>
      <nav aria-label="Pages">
        <a href="#/" aria-current=${current === 'list' ? 'page' : undefined}>Batches</a>
        <a href="#/submit" aria-current=${current === 'submit' ? 'page' : undefined}>Submit a batch</a>
      </nav>
      <${KeyForm} settings=${settings} keyValue=${keyValue} onKey=${setKeyValue} />
    </header>
    <main id="main">
      ${
        needsKey
          ? html`<p class="notice">Enter your API key above to see your batches.</p>`
          : html`<${Page} key=${keyValue} hash=${hash} settings=${settings} />`
      }
    </main>`;
}

async function start() {
  const root = document.getElementById('app');
  try {
    const res = await fetch('/console/config.json');
    if (!res.ok) throw new Error(`GET /console/config.json answered HTTP ${res.status}`);
    root.textContent = '';
    render(html`<${App} settings=${await res.json()} />`, root);
  } catch (err) {
    root.textContent = `The console could not start: ${err.message}`;
  }
}

void start();
