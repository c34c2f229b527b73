// The upload area: files dropped on it or picked with its button go to POST /api/ingest, one
// request per file (so each has its own progress and its own error), one after the other.
// XMLHttpRequest rather than fetch: only it reports upload progress.

import { el } from './format.js';

const ENDPOINT = '/api/ingest';

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let n = bytes / 1024;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n >= 10 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

/** One file's upload; settles with the stored file's JSON, or rejects with the server's message. */
function send(file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', ENDPOINT);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener('load', () => {
      let json = null;
      try {
        json = JSON.parse(xhr.responseText);
      } catch {
        // not JSON: the status alone says what happened
      }
      if (xhr.status === 202 && json && Array.isArray(json.files) && json.files.length > 0) {
        resolve(json.files[0]);
      } else {
        reject(new Error(json && typeof json.error === 'string' ? json.error : `the server answered ${xhr.status}`));
      }
    });
    // A refused large upload may come back as a closed connection rather than an answer.
    xhr.addEventListener('error', () => reject(new Error(
      'the upload was cut off: the server cannot be reached, or it refused the file (too large?)')));
    xhr.addEventListener('abort', () => reject(new Error('the upload was cancelled')));
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}

/** Wires the drop zone, the button and the hidden file input in #upload. */
export function startUpload() {
  const zone = document.getElementById('upload-zone');
  const input = document.getElementById('upload-input');
  const pick = document.getElementById('upload-pick');
  const list = document.getElementById('upload-list');
  if (!zone || !input || !pick || !list) return;
  const queue = [];
  let busy = false;

  function row(file) {
    const item = el('li', 'upload-item');
    item.dataset.name = file.name;
    item.dataset.state = 'waiting';
    const name = el('span', 'upload-name', file.name);
    name.title = file.name;
    const progress = el('progress', 'upload-progress');
    progress.max = 1;
    progress.value = 0;
    progress.setAttribute('aria-label', `Upload of ${file.name}`);
    const status = el('span', 'upload-status', `Waiting · ${size(file.size)}`);
    item.append(name, progress, status);
    list.prepend(item);
    return { item, progress, status };
  }

  async function drain() {
    if (busy) return;
    busy = true;
    while (queue.length > 0) {
      const { file, view } = queue.shift();
      view.item.dataset.state = 'uploading';
      view.status.textContent = `Uploading · ${size(file.size)}`;
      try {
        const stored = await send(file, (fraction) => { view.progress.value = fraction; });
        view.progress.value = 1;
        view.item.dataset.state = 'queued';
        view.item.dataset.stored = stored.name;
        view.status.textContent = stored.name === file.name
          ? 'Queued for indexing'
          : `Queued for indexing as ${stored.name}`;
      } catch (e) {
        view.item.dataset.state = 'error';
        view.status.textContent = `Failed: ${e.message}`;
        view.status.classList.add('error');
      }
    }
    busy = false;
  }

  function add(files) {
    for (const file of files) {
      queue.push({ file, view: row(file) });
    }
    list.hidden = list.children.length === 0;
    drain();
  }

  pick.addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    add(Array.from(input.files));
    input.value = ''; // the same file may be picked again
  });
  zone.addEventListener('dragover', (e) => {
    if (!e.dataTransfer || !Array.from(e.dataTransfer.types).includes('Files')) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', (e) => {
    if (!zone.contains(e.relatedTarget)) zone.classList.remove('dragging');
  });
  zone.addEventListener('drop', (e) => {
    zone.classList.remove('dragging');
    if (!e.dataTransfer || e.dataTransfer.files.length === 0) return;
    e.preventDefault();
    add(Array.from(e.dataTransfer.files));
  });
}
