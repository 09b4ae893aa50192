// Talking to the server: the JSON API of docs/dashboard.md through relative URLs, and its errors.

export class ApiError extends Error {
  constructor(status, body) {
    const message = body && typeof body.message === 'string' ? body.message : `HTTP ${status}`;
    super(message);
    this.status = status;
    this.code = body && typeof body.error === 'string' ? body.error : undefined;
    this.issues = body && Array.isArray(body.issues) ? body.issues : undefined;
    this.issueCount = body && typeof body.issueCount === 'number' ? body.issueCount : undefined;
  }
}

export async function api(path, options = {}) {
  const init = {
    method: options.method ?? 'GET',
    headers: { Accept: 'application/json' },
    cache: 'no-store',
  };
  if (options.body !== undefined) {
    // The CSRF rule: a POST is accepted only as application/json.
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, { error: 'NETWORK', message: 'the server could not be reached' });
  }
  const text = await response.text();
  let data;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return { status: response.status, data };
}

export function describeError(err) {
  if (!(err instanceof ApiError)) return String(err?.message ?? err);
  if (err.status === 401 || err.status === 403)
    return `not authorized (HTTP ${err.status}); sign in again and reload the page`;
  if (err.status === 0) return err.message;
  return err.code ? `${err.message} (${err.code})` : err.message;
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (Array.isArray(value)) for (const v of value) q.append(name, v);
    else if (value !== undefined && value !== '') q.append(name, String(value));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
