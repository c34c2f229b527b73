// The detail view: one hit in a modal <dialog>. A picture is shown whole (/content), a PDF opens at
// the hit's page in the browser's PDF viewer (/content#page=N), a video plays from the frame's
// position (/content#t=SECONDS), and a passage is shown with the query's terms marked. Esc or
// Close shuts it and gives focus back to the card that opened it.

import { getJson } from './api.js';
import { el, fileName, fill } from './format.js';

export const TYPE_LABELS = {
  image: 'Image', 'embedded-image': 'Image', page: 'Page', text: 'Text', 'video-frame': 'Video',
};

const dialog = document.getElementById('detail');
const media = document.getElementById('detail-media');
const facts = document.getElementById('detail-facts');
const similar = document.getElementById('detail-similar');
const openLink = document.getElementById('detail-open');

/** The card to focus again when the dialog closes, and what "More like this" does for this hit. */
let opener = null;
let onSimilar = null;
let shown = null;
let latest = 0;

dialog.addEventListener('close', () => {
  fill(media); // stops a playing video and unloads the PDF
  const back = opener;
  opener = null;
  shown = null;
  if (back && back.isConnected) back.focus();
});
document.getElementById('detail-close').addEventListener('click', () => dialog.close());
// A click on the backdrop (the dialog box itself, outside its content) closes it too.
dialog.addEventListener('click', (event) => {
  if (event.target !== dialog || event.detail === 0) return; // detail 0: Enter or Space, not a pointer
  const box = dialog.getBoundingClientRect();
  const inside = event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom;
  if (!inside) dialog.close();
});
similar.addEventListener('click', () => {
  const hit = shown;
  const run = onSimilar;
  opener = null; // the cards are about to be replaced: focus goes to the new results
  dialog.close();
  if (hit && run) run(hit.id, fileName(hit.path));
});

/** The URL of an item's route; the id's {@code #} percent-encoded. */
export function itemUrl(id) {
  return `/api/items/${encodeURIComponent(id)}`;
}

/**
 * Opens the dialog on `hit`; `from` gets focus back on close; `similarTo(id, name)` runs "More like
 * this" (null: the button is hidden).
 */
export function openDetail(hit, from, similarTo) {
  opener = from;
  onSimilar = similarTo;
  shown = hit;
  similar.hidden = !similarTo; // a chat's source has no result list to replace
  const ticket = ++latest;
  const content = `${itemUrl(hit.id)}/content`;
  document.getElementById('detail-title').textContent = fileName(hit.path);
  dialog.dataset.type = hit.type;
  openLink.href = content;

  const pdf = /\.pdf$/i.test(String(hit.path));
  const page = typeof hit.page === 'number' && hit.page > 0 ? hit.page : 0;
  const parts = [];
  if (pdf) {
    const frame = el('iframe', 'pdf');
    frame.src = page ? `${content}#page=${page}` : content;
    frame.title = page ? `Page ${page} of ${fileName(hit.path)}` : fileName(hit.path);
    parts.push(frame);
  } else if (hit.type === 'image' || hit.type === 'embedded-image') {
    const img = el('img', 'picture');
    img.src = hit.type === 'image' || !hit.thumbnail ? content : hit.thumbnail;
    img.alt = fileName(hit.path);
    parts.push(img);
  } else if (hit.type === 'video-frame') {
    const video = el('video', 'video');
    const seconds = Math.max(0, (hit.timestamp || 0) / 1000);
    video.controls = true;
    video.preload = 'metadata';
    video.src = `${content}#t=${seconds.toFixed(3)}`;
    parts.push(video);
  }
  const passage = el('div', 'passage');
  if (typeof hit.snippet === 'string' && hit.snippet) {
    passage.append(marked('p', 'snippet', hit.snippet, hit.highlights));
  }
  if (passage.childNodes.length || hit.type === 'text') parts.push(passage);
  fill(media, ...parts);
  fill(facts, ...describe(hit));
  if (hit.type === 'text' && !passage.childNodes.length) {
    // No snippet came with the hit ("more like this" of a passage): the item's text instead.
    getJson(itemUrl(hit.id)).then((item) => {
      if (ticket === latest && typeof item.text === 'string') passage.append(el('p', 'snippet', item.text));
    }, (e) => {
      if (ticket === latest) passage.append(el('p', 'error', `The passage could not be loaded: ${e.message}`));
    });
  }
  if (!dialog.open) dialog.showModal();
  document.getElementById('detail-close').focus();
}

function describe(hit) {
  const rows = [];
  const row = (term, ...values) => {
    const dd = el('dd');
    dd.append(...values);
    rows.push(el('dt', null, term), dd);
  };
  row('Type', TYPE_LABELS[hit.type] || hit.type);
  if (typeof hit.score === 'number') row('Score', `${hit.score.toFixed(3)}${hit.rank ? ` (rank ${hit.rank})` : ''}`);
  if (typeof hit.page === 'number' && hit.page > 0) row('Page', String(hit.page));
  if (hit.type === 'video-frame') row('Position', clock((hit.timestamp || 0) / 1000));
  else if (typeof hit.timestamp === 'number' && hit.timestamp > 0) row('Date', new Date(hit.timestamp).toLocaleString());
  const paths = Array.isArray(hit.paths) && hit.paths.length ? hit.paths : [hit.path];
  const list = el('ul', 'paths');
  for (const p of paths) {
    const li = el('li');
    li.append(el('code', null, p));
    list.append(li);
  }
  row(paths.length === 1 ? 'File' : 'Files', list);
  return rows;
}

function clock(seconds) {
  const s = Math.floor(seconds % 60);
  const m = Math.floor(seconds / 60) % 60;
  const h = Math.floor(seconds / 3600);
  const two = (n) => String(n).padStart(2, '0');
  return h ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
}

/** A passage with the query's terms marked: [start, end) offsets from the server, text nodes only. */
export function marked(tag, className, text, highlights) {
  const p = el(tag, className);
  let at = 0;
  for (const [start, end] of Array.isArray(highlights) ? highlights : []) {
    if (start < at || end > text.length || start >= end) continue;
    p.append(document.createTextNode(text.slice(at, start)), el('mark', null, text.slice(start, end)));
    at = end;
  }
  p.append(document.createTextNode(text.slice(at)));
  return p;
}
