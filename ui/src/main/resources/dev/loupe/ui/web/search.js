// The search box and the result grid: GET /api/search?q=TEXT, hits rendered as cards.

import { ApiError, getJson } from './api.js';
import { el, fileName, fill } from './format.js';

const TYPE_LABELS = { image: 'Image', page: 'Page', text: 'Text', 'video-frame': 'Video' };

/** Wires the search form. */
export function startSearch() {
  const form = document.getElementById('search-form');
  const input = document.getElementById('q');
  const message = document.getElementById('search-message');
  const results = document.getElementById('results');
  let latest = 0;

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const q = input.value.trim();
    if (!q) return;
    const ticket = ++latest;
    message.classList.remove('error');
    message.textContent = 'Searching…';
    results.setAttribute('aria-busy', 'true');
    try {
      const answer = await getJson(`/api/search?q=${encodeURIComponent(q)}`);
      if (ticket !== latest) return; // a newer query has been sent
      const hits = Array.isArray(answer) ? answer : answer.hits || [];
      fill(results, ...hits.map(card));
      const took = typeof answer.took_ms === 'number' ? ` in ${answer.took_ms.toFixed(1)} ms` : '';
      message.textContent = hits.length === 0 ? `Nothing found for “${q}”.`
        : `${hits.length} ${hits.length === 1 ? 'result' : 'results'} for “${q}”${took}.`;
    } catch (e) {
      if (ticket !== latest) return;
      fill(results);
      message.classList.add('error');
      message.textContent = e instanceof ApiError && e.status === 404 && e.message.startsWith('no route')
        ? 'Search is not available on this server yet: GET /api/search answered 404.'
        : `Search failed: ${e.message}`;
    } finally {
      if (ticket === latest) results.removeAttribute('aria-busy');
    }
  });
}

/** One hit: {id, type, score, path, page, snippet, highlights, thumbnail}. Text is set as text, never as HTML. */
function card(hit) {
  const item = el('li', 'hit');
  item.dataset.id = hit.id;
  const figure = el('figure');
  if (typeof hit.thumbnail === 'string' && hit.thumbnail.startsWith('/')) {
    const img = el('img');
    img.src = hit.thumbnail;
    img.alt = fileName(hit.path);
    img.loading = 'lazy';
    figure.append(img);
  } else if (typeof hit.snippet === 'string' && hit.snippet) {
    figure.append(snippet(hit.snippet, hit.highlights));
  } else {
    figure.append(el('div', 'placeholder', TYPE_LABELS[hit.type] || hit.type));
  }
  const caption = el('figcaption');
  const name = el('span', 'name', fileName(hit.path));
  name.title = hit.path;
  caption.append(name);
  if (typeof hit.page === 'number' && hit.page > 0) caption.append(el('span', 'page', `p. ${hit.page}`));
  const meta = el('span', 'meta');
  meta.append(el('span', `badge type-${hit.type}`, TYPE_LABELS[hit.type] || hit.type),
    el('span', 'score', typeof hit.score === 'number' ? hit.score.toFixed(3) : ''));
  caption.append(meta);
  figure.append(caption);
  item.append(figure);
  return item;
}

/** A passage with the query's terms marked: [start, end) offsets from the server, text nodes only. */
function snippet(text, highlights) {
  const p = el('p', 'snippet');
  let at = 0;
  for (const [start, end] of Array.isArray(highlights) ? highlights : []) {
    if (start < at || end > text.length || start >= end) continue;
    p.append(document.createTextNode(text.slice(at, start)), el('mark', null, text.slice(start, end)));
    at = end;
  }
  p.append(document.createTextNode(text.slice(at)));
  return p;
}
