// The HTTP API as the page uses it: JSON in and out, one error type that carries the server's message.

/** A request the server refused or could not answer; `status` is 0 when it could not be reached. */
export class ApiError extends Error {
  constructor(method, path, status, message) {
    super(message);
    this.name = 'ApiError';
    this.method = method;
    this.path = path;
    this.status = status;
  }
}

async function call(method, path, body) {
  let response;
  try {
    // A FormData body is sent as multipart/form-data, its boundary set by the browser.
    const form = body instanceof FormData;
    response = await fetch(path, {
      method,
      headers: body === undefined || form ? { Accept: 'application/json' }
        : { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: body === undefined || form ? body : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(method, path, 0, `the server cannot be reached (${e.message})`);
  }
  let json = null;
  const text = await response.text();
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      throw new ApiError(method, path, response.status,
        `${method} ${path} answered ${response.status} with a body that is not JSON`);
    }
  }
  if (!response.ok) {
    const message = json && typeof json.error === 'string' ? json.error : `${method} ${path} answered ${response.status}`;
    throw new ApiError(method, path, response.status, message);
  }
  return json;
}

export const getJson = (path) => call('GET', path);
export const postJson = (path, body) => call('POST', path, body);
export const postForm = (path, form) => call('POST', path, form);
