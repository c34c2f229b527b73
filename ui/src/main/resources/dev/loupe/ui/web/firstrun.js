// The first-run notices, from GET /api/health: no model installed, nothing indexed yet.

import { el, fill } from './format.js';

/**
 * Shows what /api/health says: the version in the header and, when they apply, the "model
 * missing" notice (the server's message and the command that fixes it) and the "empty index"
 * notice (the watch folders to put files in). `ingest` is the latest ingest status or null; a
 * collection counts as empty only while the pipeline has seen no file either.
 */
export function renderHealth(health, ingest) {
  // The item count is the status bar's: health's store counts images, pages and frames only.
  document.getElementById('facts').textContent = `version ${health.version}`;
  const items = health.store.items;

  const clip = health.models.clip;
  const missing = document.getElementById('model-missing');
  missing.hidden = clip.installed;
  if (!clip.installed) {
    document.getElementById('model-message').textContent = clip.message;
    document.getElementById('model-fix').textContent = clip.fix;
  }

  const empty = document.getElementById('empty-index');
  empty.hidden = !(items === 0 && (ingest === null || ingest.seen === 0));
  const folders = health.watch.map((dir) => {
    const item = el('li');
    item.append(el('code', null, dir));
    return item;
  });
  fill(document.getElementById('watch-folders'), ...folders);
}
