// The search box and the result grid: by text (GET /api/search?q=), by picture (POST /api/search,
// multipart: picked, dropped or pasted), "more like this" (GET /api/search?similar_to=), all
// narrowed by the type chips (types=). Hits are drawn as cards; a card opens the detail view.

import { ApiError, getJson, postForm } from './api.js';
import { TYPE_LABELS, marked, openDetail } from './detail.js';
import { el, fileName, fill } from './format.js';

/** Typing pauses this long before the results follow the box. */
const LIVE_DELAY_MS = 300;

/** Wires the search form, the image search, the type chips and the cards. */
export function startSearch() {
  const section = document.getElementById('search');
  const form = document.getElementById('search-form');
  const input = document.getElementById('q');
  const message = document.getElementById('search-message');
  const fix = document.getElementById('search-fix');
  const queryView = document.getElementById('search-query');
  const results = document.getElementById('results');
  const picker = document.getElementById('image-file');
  const chips = [...document.querySelectorAll('#type-filters .chip')];

  /** What is searched now: {kind: 'text', q}, {kind: 'image', file} or {kind: 'similar', id, name}. */
  let current = null;
  let types = '';
  let latest = 0;
  let live = 0;
  let preview = null; // the object URL of the picture searched for

  async function run(query) {
    current = query;
    const ticket = ++latest;
    message.classList.remove('error');
    message.textContent = 'Searching…';
    fix.hidden = true;
    results.setAttribute('aria-busy', 'true');
    showQuery(query);
    try {
      const answer = await send(query, types);
      if (ticket !== latest) return; // a newer query has been sent
      const hits = Array.isArray(answer) ? answer : answer.hits || [];
      fill(results, ...hits.map((hit) => card(hit, similarTo)));
      const took = typeof answer.took_ms === 'number' ? ` in ${answer.took_ms.toFixed(1)} ms` : '';
      const what = describe(query);
      const only = types ? ` (${activeChip().textContent.toLowerCase()} only)` : '';
      message.textContent = hits.length === 0 ? `Nothing found ${what}${only}.`
        : `${hits.length} ${hits.length === 1 ? 'result' : 'results'} ${what}${only}${took}.`;
    } catch (e) {
      if (ticket !== latest) return;
      fill(results);
      message.classList.add('error');
      if (e instanceof ApiError && e.status === 404 && e.message.startsWith('no route')) {
        message.textContent = 'Search is not available on this server yet: /api/search answered 404.';
      } else if (e instanceof ApiError && e.status === 503) {
        // A model is missing: the server's message ends with the command that installs it.
        const install = /install it with (.+)$/.exec(e.message);
        const why = e.message.slice(0, install ? install.index : undefined).replace(/[;,\s]+$/, '');
        message.textContent = install
          ? `${why.charAt(0).toUpperCase()}${why.slice(1)}. Install it with:`
          : `Search is not available: ${e.message}`;
        if (install) {
          document.getElementById('search-fix-command').textContent = install[1];
          fix.hidden = false;
        }
      } else {
        message.textContent = `Search failed: ${e.message}`;
      }
    } finally {
      if (ticket === latest) results.removeAttribute('aria-busy');
    }
  }

  /** "More like this": the similar items replace the grid, and the first of them gets focus. */
  async function similarTo(id, name) {
    await run({ kind: 'similar', id, name });
    const first = results.querySelector('.card');
    if (first) first.focus();
  }

  function showQuery(query) {
    if (preview) URL.revokeObjectURL(preview);
    preview = null;
    if (query.kind !== 'image') {
      fill(queryView);
      queryView.hidden = true;
      return;
    }
    preview = URL.createObjectURL(query.file);
    const img = el('img');
    img.src = preview;
    img.alt = '';
    fill(queryView, img, el('span', null, `Pictures like ${query.file.name || 'the pasted picture'}`));
    queryView.hidden = false;
  }

  function activeChip() {
    return chips.find((c) => c.getAttribute('aria-pressed') === 'true') || chips[0];
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(live);
    const q = input.value.trim();
    if (q) run({ kind: 'text', q });
  });

  // Live results: a pause in typing searches, unless the box already shows that query.
  input.addEventListener('input', () => {
    clearTimeout(live);
    live = setTimeout(() => {
      const q = input.value.trim();
      if (q && !(current && current.kind === 'text' && current.q === q)) run({ kind: 'text', q });
    }, LIVE_DELAY_MS);
  });

  // Search by image: the button opens the file chooser; a dropped or pasted picture does the same.
  document.getElementById('image-pick').addEventListener('click', () => picker.click());
  picker.addEventListener('change', () => {
    const file = picker.files && picker.files[0];
    picker.value = ''; // choosing the same file again searches again
    if (file) searchImage(file);
  });
  section.addEventListener('dragover', (event) => {
    if (![...event.dataTransfer.types].includes('Files')) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    section.classList.add('dropping');
  });
  section.addEventListener('dragleave', (event) => {
    if (!section.contains(event.relatedTarget)) section.classList.remove('dropping');
  });
  section.addEventListener('drop', (event) => {
    section.classList.remove('dropping');
    const file = firstImage(event.dataTransfer);
    if (!event.dataTransfer.files.length) return;
    event.preventDefault();
    event.stopPropagation();
    if (file) searchImage(file);
    else notAnImage(event.dataTransfer.files[0]);
  });
  document.addEventListener('paste', (event) => {
    const file = firstImage(event.clipboardData);
    if (!file) return; // text goes where it is pasted
    event.preventDefault();
    searchImage(file);
  });

  function searchImage(file) {
    if (!file.type.startsWith('image/')) {
      notAnImage(file);
      return;
    }
    run({ kind: 'image', file });
  }

  function notAnImage(file) {
    message.classList.add('error');
    fix.hidden = true;
    message.textContent = `“${file.name}” is not a picture; search by image takes JPEG, PNG, GIF, WebP or BMP.`;
  }

  // The type chips: one pressed at a time; the current query runs again with its types.
  for (const chip of chips) {
    chip.addEventListener('click', () => {
      for (const c of chips) c.setAttribute('aria-pressed', String(c === chip));
      types = chip.dataset.types;
      if (current) run(current);
    });
  }
}

function send(query, types) {
  if (query.kind === 'image') {
    const form = new FormData();
    form.append('image', query.file, query.file.name || 'pasted.png');
    if (types) form.append('types', types);
    return postForm('/api/search', form);
  }
  const params = new URLSearchParams(query.kind === 'text' ? { q: query.q } : { similar_to: query.id });
  if (types) params.set('types', types);
  return getJson(`/api/search?${params}`);
}

function describe(query) {
  switch (query.kind) {
    case 'image': return `for the picture “${query.file.name || 'pasted'}”`;
    case 'similar': return `like “${query.name}”`;
    default: return `for “${query.q}”`;
  }
}

function firstImage(transfer) {
  if (!transfer) return null;
  return [...transfer.files].find((f) => f.type.startsWith('image/')) || null;
}

/**
 * One hit as a card: a button holding the thumbnail (or the passage, or the type), the file's
 * name, the page, the type badge and the score. Text is set as text, never as HTML.
 */
function card(hit, onSimilar) {
  const item = el('li', 'hit');
  item.dataset.id = hit.id;
  item.dataset.type = hit.type;
  const button = el('button', 'card');
  button.type = 'button';
  if (typeof hit.thumbnail === 'string' && hit.thumbnail.startsWith('/')) {
    const img = el('img');
    img.src = hit.thumbnail;
    img.alt = fileName(hit.path);
    img.loading = 'lazy';
    button.append(img);
  } else if (typeof hit.snippet === 'string' && hit.snippet) {
    button.append(marked('span', 'snippet', hit.snippet, hit.highlights));
  } else {
    button.append(el('span', 'placeholder', TYPE_LABELS[hit.type] || hit.type));
  }
  const caption = el('span', 'caption');
  const name = el('span', 'name', fileName(hit.path));
  name.title = hit.path;
  caption.append(name);
  if (typeof hit.page === 'number' && hit.page > 0) caption.append(el('span', 'page', `p. ${hit.page}`));
  const meta = el('span', 'meta');
  meta.append(el('span', `badge type-${hit.type}`, TYPE_LABELS[hit.type] || hit.type),
    el('span', 'score', typeof hit.score === 'number' ? hit.score.toFixed(3) : ''));
  caption.append(meta);
  button.append(caption);
  button.addEventListener('click', () => openDetail(hit, button, onSimilar));
  item.append(button);
  return item;
}
