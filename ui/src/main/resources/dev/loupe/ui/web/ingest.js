// The ingest status bar: polls GET /api/ingest/status and pauses or resumes the pipeline.

import { ApiError, getJson, postJson } from './api.js';
import { count, duration, el, fill, rate } from './format.js';

const POLL_MS = 1500;
const RETRY_MS = 5000;

/** What each failure reason means, for people. */
const REASONS = {
  corrupt: 'damaged',
  encrypted: 'encrypted',
  over_limit: 'over a size limit',
  unsupported: 'unsupported type',
  io: 'unreadable',
  error: 'internal error',
};

/**
 * Starts polling. `onStatus(status)` is called after each successful poll or toggle, with the
 * JSON of /api/ingest/status. Polling lasts as long as the page; the returned promise settles once
 * the first poll has been shown.
 */
export function startIngestBar(onStatus) {
  const bar = document.getElementById('ingest');
  const state = document.getElementById('ingest-state');
  const summary = document.getElementById('ingest-summary');
  const toggle = document.getElementById('ingest-toggle');
  const progress = document.getElementById('ingest-progress');
  const detail = document.getElementById('ingest-detail');
  const failures = document.getElementById('ingest-failures');
  const error = document.getElementById('ingest-error');
  let timer = null;

  function render(s) {
    bar.dataset.state = s.state;
    error.hidden = true;
    const idle = s.pending === 0;
    const word = s.state === 'paused' ? 'Paused'
      : s.state === 'stopped' ? 'Stopped'
      : idle ? 'Up to date' : 'Indexing';
    if (state.textContent !== word) state.textContent = word;

    const parts = [s.seen === 0 ? 'No files seen yet' : `${count(s.done)} of ${count(s.seen)} files indexed`];
    if (s.pending > 0) parts.push(`${count(s.pending)} pending`);
    if (s.failed > 0) parts.push(`${count(s.failed)} failed`);
    summary.textContent = parts.join(' · ');

    progress.hidden = s.seen === 0;
    progress.max = Math.max(1, s.seen);
    progress.value = s.done + s.failed;

    const details = [`${count(s.items)} ${s.items === 1 ? 'item' : 'items'} in the index`];
    const fps = rate(s.filesPerSecond);
    if (fps) details.push(`${fps.replace('/s', '')} files/s`);
    const eta = duration(s.etaSeconds);
    if (eta && !idle && s.state === 'running') details.push(`about ${eta} left`);
    detail.textContent = details.join(' · ');

    const reasons = Object.entries(s.failedByReason || {}).filter(([, n]) => n > 0).sort();
    failures.hidden = reasons.length === 0;
    fill(failures, ...reasons.map(([reason, n]) => {
      const item = el('li', 'failure', `${count(n)} ${REASONS[reason] || reason}`);
      item.dataset.reason = reason;
      return item;
    }));

    toggle.hidden = s.state === 'stopped';
    toggle.textContent = s.state === 'paused' ? 'Resume indexing' : 'Pause indexing';
    toggle.dataset.action = s.state === 'paused' ? 'resume' : 'pause';
    onStatus(s);
  }

  function showError(message) {
    error.textContent = message;
    error.hidden = false;
  }

  async function poll() {
    timer = null;
    try {
      render(await getJson('/api/ingest/status'));
      schedule(POLL_MS);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        bar.dataset.state = 'absent';
        state.textContent = 'Indexing status is not available from this server';
        return; // nothing to poll
      }
      bar.dataset.state = 'unreachable';
      showError(`Indexing status unavailable: ${e.message}. Trying again.`);
      schedule(RETRY_MS);
    }
  }

  function schedule(ms) {
    if (timer === null) timer = setTimeout(poll, ms);
  }

  toggle.addEventListener('click', async () => {
    const action = toggle.dataset.action;
    toggle.disabled = true;
    try {
      render(await postJson(`/api/ingest/${action}`));
    } catch (e) {
      showError(`Could not ${action} indexing: ${e.message}`);
    } finally {
      toggle.disabled = false;
    }
  });

  return poll(); // settles after the first answer, good or bad

}
