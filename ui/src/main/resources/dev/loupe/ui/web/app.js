// The page's entry point: wires the modules and marks <html data-ready="true"> once the first
// health and ingest answers are on screen (the browser tests wait for it).

import { getJson } from './api.js';
import { startChat } from './chat.js';
import { renderHealth } from './firstrun.js';
import { startIngestBar } from './ingest.js';
import { startSearch } from './search.js';
import { startUpload } from './upload.js';

let health = null;
let ingest = null;
let lastDone = -1;

async function refreshHealth() {
  try {
    health = await getJson('/api/health');
    renderHealth(health, ingest);
  } catch (e) {
    const facts = document.getElementById('facts');
    facts.textContent = `Server health unavailable: ${e.message}`;
    facts.classList.add('error');
  }
}

function onIngestStatus(status) {
  ingest = status;
  if (status.done !== lastDone) {
    // Files were indexed: the item count and the empty-collection notice may have changed.
    const first = lastDone === -1;
    lastDone = status.done;
    if (!first) refreshHealth();
  }
  if (health) renderHealth(health, ingest);
}

startSearch();
startChat();
startUpload();
Promise.allSettled([refreshHealth(), startIngestBar(onIngestStatus)]).then(() => {
  document.documentElement.dataset.ready = 'true';
});
