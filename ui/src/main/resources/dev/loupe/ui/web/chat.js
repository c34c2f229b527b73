// The chat panel: a question goes to POST /api/chat, whose answer streams back as server-sent
// events read from the fetch body (EventSource cannot POST): `sources` (drawn as numbered chips),
// `token` (appended to the answer), `tool` (a line saying which tool ran and what it answered),
// `done` (the answer again, its [n] turned into chips, and the timings), `error`. A chip opens its
// source in the detail view: the PDF at its page, the picture, the video at the frame's time.
// Stop aborts the fetch (the server stops decoding when its next write fails); New chat forgets
// the chat on the server (DELETE /api/chat/{id}). Without a language model the server answers 503,
// and its message is shown with the command it names.

import { openDetail } from './detail.js';
import { el, fileName, fill } from './format.js';

/** Wires the chat form, the stop and new-chat buttons. */
export function startChat() {
  const form = document.getElementById('chat-form');
  const input = document.getElementById('chat-q');
  const send = document.getElementById('chat-send');
  const stop = document.getElementById('chat-stop');
  const fresh = document.getElementById('chat-new');
  const log = document.getElementById('chat-log');
  const message = document.getElementById('chat-message');
  const fix = document.getElementById('chat-fix');

  /** The server's id of this conversation once its first answer has started; null for a new chat. */
  let chatId = null;
  const setChat = (id) => {
    chatId = id;
    if (id) form.dataset.chatId = id; // for the browser tests
    else delete form.dataset.chatId;
  };
  /** The running question's AbortController; null while idle. */
  let running = null;

  function busy(on) {
    send.disabled = on;
    stop.hidden = !on;
    form.dataset.state = on ? 'streaming' : 'idle';
  }

  function say(text, error) {
    message.textContent = text;
    message.classList.toggle('error', Boolean(error));
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (!question || running) return;
    input.value = '';
    ask(question);
  });

  // Enter sends, Shift+Enter starts a new line.
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  stop.addEventListener('click', () => {
    if (running) running.abort();
  });

  fresh.addEventListener('click', async () => {
    if (running) running.abort();
    const id = chatId;
    setChat(null);
    fill(log);
    fix.hidden = true;
    say('New chat.');
    input.focus();
    if (!id) return;
    try {
      const response = await fetch(`/api/chat/${encodeURIComponent(id)}`, { method: 'DELETE' });
      // 404: the server had already forgotten it (evicted, or restarted); nothing to drop.
      if (!response.ok && response.status !== 404) say(`The old chat could not be dropped: ${response.status}`, true);
    } catch (e) {
      say(`The old chat could not be dropped: ${e.message}`, true);
    }
  });

  async function ask(question) {
    const turn = newTurn(question);
    log.append(turn.item);
    turn.item.scrollIntoView({ block: 'nearest' });
    fix.hidden = true;
    say('Thinking…');
    const controller = new AbortController();
    running = controller;
    busy(true);
    const body = { question };
    if (chatId) body.chat_id = chatId;
    // Test and debugging hooks: data-force-tool and data-max-tokens on the form.
    if (form.dataset.forceTool) body.force_tool = form.dataset.forceTool;
    if (form.dataset.maxTokens) body.max_tokens = Number(form.dataset.maxTokens);
    try {
      const response = await fetch('/api/chat', {
        method: 'POST',
        headers: { Accept: 'text/event-stream', 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      if (!response.ok) {
        await refused(response, turn);
        return;
      }
      await readEvents(response.body, (name, data) => onEvent(turn, name, data));
      if (turn.item.dataset.state === 'streaming') finish(turn, 'ended', 'The answer ended without its done event.');
    } catch (e) {
      if (controller.signal.aborted) {
        finish(turn, 'stopped', 'Stopped.');
      } else {
        finish(turn, 'failed', `The answer failed: ${e.message}`, true);
      }
    } finally {
      if (running === controller) {
        running = null;
        busy(false);
      }
    }
  }

  /** A refusal before the stream: 503 no model (with the fix), 404 a forgotten chat, 400, 413, 409. */
  async function refused(response, turn) {
    let text = `POST /api/chat answered ${response.status}`;
    try {
      const json = await response.json();
      if (json && typeof json.error === 'string') text = json.error;
    } catch {
      // not JSON: the status says enough
    }
    turn.item.remove();
    if (response.status === 404 && chatId) {
      setChat(null); // the server forgot the chat: the next question starts a new one
      say(`${capital(text)}. The next question starts a new chat.`, true);
      return;
    }
    // No model: the server's sentence, and the commands it names one per line, to copy.
    const commands = [...new Set(text.match(/\.\/loupe [^,;()]+?(?=\s+and\s|\s*[,;(]|$)/g) || [])];
    if (response.status === 503 && commands.length) {
      say(`${capital(text)}.`, true);
      document.getElementById('chat-fix-command').textContent = commands.join('\n');
      fix.hidden = false;
      return;
    }
    say(capital(text), true);
  }

  function onEvent(turn, name, data) {
    switch (name) {
      case 'sources':
        setChat(data.chat_id);
        turn.sources = data.sources || [];
        fill(turn.chips, ...turn.sources.map(sourceChip));
        turn.chips.hidden = turn.sources.length === 0;
        say(turn.sources.length ? `Answering from ${turn.sources.length} ${turn.sources.length === 1 ? 'source' : 'sources'}…`
          : 'No sources found; answering without them…');
        break;
      case 'token':
        turn.text += data.text;
        turn.answer.textContent = turn.text;
        turn.item.dataset.tokens = String(Number(turn.item.dataset.tokens) + 1);
        break;
      case 'tool': {
        for (const s of data.sources || []) turn.sources.push(s);
        if (data.sources && data.sources.length) {
          turn.chips.append(...data.sources.map(sourceChip));
          turn.chips.hidden = false;
        }
        const line = el('li', 'tool');
        line.dataset.tool = data.tool;
        line.append(el('span', 'tool-name', data.tool), el('code', 'tool-argument', data.argument),
          el('span', 'tool-result', `→ ${data.result}`));
        turn.tools.append(line);
        turn.tools.hidden = false;
        break;
      }
      case 'done': {
        turn.text = data.answer;
        fill(turn.answer, ...cited(data.answer, data.citations || {}, turn.sources));
        const t = data.timings || {};
        const facts = [];
        if (typeof t.totalMillis === 'number') facts.push(`${(t.totalMillis / 1000).toFixed(1)} s`);
        if (typeof t.decodeTokens === 'number' && t.decodeMillis > 0) {
          facts.push(`${(t.decodeTokens / (t.decodeMillis / 1000)).toFixed(1)} tokens/s`);
        }
        const how = data.finish_reason === 'length' ? 'Cut at the length limit' : data.finish_reason === 'cancelled'
          ? 'Stopped' : 'Done';
        finish(turn, data.finish_reason === 'cancelled' ? 'stopped' : 'done', `${how}${facts.length ? ` (${facts.join(', ')})` : ''}.`);
        break;
      }
      case 'error':
        finish(turn, 'failed', `The answer failed: ${data.error}`, true);
        break;
      default:
        break; // an event this page does not know yet
    }
  }

  function finish(turn, state, text, error) {
    turn.item.dataset.state = state;
    turn.status.textContent = text;
    turn.status.classList.toggle('error', Boolean(error));
    say(text, error);
  }
}

/** One question and its answer: the question, the source chips, the tool calls, the answer, a status line. */
function newTurn(question) {
  const item = el('li', 'turn');
  item.dataset.state = 'streaming';
  item.dataset.tokens = '0';
  const chips = el('ul', 'chat-sources');
  chips.setAttribute('aria-label', 'Sources');
  chips.hidden = true;
  const tools = el('ul', 'chat-tools');
  tools.setAttribute('aria-label', 'Tool calls');
  tools.hidden = true;
  const answer = el('p', 'answer');
  const status = el('p', 'turn-status', 'Thinking…');
  item.append(el('p', 'question', question), chips, tools, answer, status);
  return { item, chips, tools, answer, status, text: '', sources: [] };
}

/** A source as a chip: "[n] file, page" with its thumbnail; a click opens it in the detail view. */
function sourceChip(source) {
  const li = el('li');
  const chip = sourceButton(source, 'source-chip');
  chip.append(document.createTextNode(' '), el('span', 'source-title', source.title || fileName(source.path)));
  li.append(chip);
  return li;
}

function sourceButton(source, className) {
  const button = el('button', className);
  button.type = 'button';
  button.dataset.n = String(source.n);
  button.dataset.id = source.id;
  button.title = source.title || source.path;
  button.append(el('span', 'source-n', `[${source.n}]`));
  button.addEventListener('click', () => openDetail(asHit(source), button, null));
  return button;
}

/** A source in the shape of a search hit, which the detail view opens: thumbnail as its URL, text as the passage. */
function asHit(source) {
  return {
    id: source.id,
    type: source.type,
    path: source.path,
    page: source.page,
    timestamp: source.timestamp,
    score: source.score,
    thumbnail: source.thumbnail ? `/api/items/${encodeURIComponent(source.id)}/thumbnail` : null,
    snippet: source.type === 'text' ? source.text : undefined,
  };
}

/** The answer's text with each [n] that names a source turned into its chip; text stays text. */
function cited(answer, citations, sources) {
  const parts = [];
  const pattern = /\[(\d{1,3})\]/g;
  let at = 0;
  for (let m; (m = pattern.exec(answer)) !== null;) {
    const source = citations[m[1]] ? { ...sources.find((s) => String(s.n) === m[1]), ...citations[m[1]] } : null;
    if (!source) continue;
    parts.push(document.createTextNode(answer.slice(at, m.index)), sourceButton(source, 'citation'));
    at = m.index + m[0].length;
  }
  parts.push(document.createTextNode(answer.slice(at)));
  return parts;
}

/** Reads a server-sent event stream from a fetch body, calling `onEvent(name, data)` per event. */
async function readEvents(body, onEvent) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) onEvent(name, JSON.parse(data.join('\n')));
    }
  }
}

function capital(text) {
  return text ? `${text.charAt(0).toUpperCase()}${text.slice(1)}` : text;
}
