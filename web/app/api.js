// The REST client and the signed-in session.
//
// The session lives in localStorage under "libchat:dashboard":
//   {kind: "account"|"operator", token, expires_at, id, account_id, name, email}
// Every request sends it as "Authorization: Bearer". A 401 from any authenticated call ends
// the session (onUnauthorized), which sends the user back to the login screen.

const kSessionKey = 'libchat:dashboard';

export class ApiError extends Error {
  constructor(status, code, message, requestId) {
    super(message || code || ('HTTP ' + status));
    this.status = status;
    this.code = code || 'http_' + status;
    this.requestId = requestId || '';
  }
}

let session = null;
let unauthorizedHandler = () => {};

export function loadSession() {
  try {
    const raw = localStorage.getItem(kSessionKey);
    const parsed = raw ? JSON.parse(raw) : null;
    if (parsed && typeof parsed.token === 'string' && parsed.token) {
      if (parsed.expires_at && Date.parse(parsed.expires_at) <= Date.now()) {
        localStorage.removeItem(kSessionKey);
        session = null;
      } else {
        session = parsed;
      }
    }
  } catch (_) {
    session = null;
  }
  return session;
}

export function getSession() { return session; }

export function saveSession(next) {
  session = next;
  if (next) localStorage.setItem(kSessionKey, JSON.stringify(next));
  else localStorage.removeItem(kSessionKey);
}

export function isOperator() { return !!session && session.kind === 'operator'; }

// The principal id messages and receipts carry for the signed-in user (acc_… or op_…).
export function myId() { return session ? session.id : ''; }

export function onUnauthorized(handler) { unauthorizedHandler = handler; }

// api('GET', '/v1/apps') -> parsed JSON (null for 204). Throws ApiError.
// options: {auth: true (send the token; a 401 ends the session), token: override, query: {...}}
export async function api(method, path, body, options = {}) {
  const auth = options.auth !== false;
  const headers = {Accept: 'application/json'};
  const token = options.token || (session && session.token);
  if (auth && token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let url = path;
  if (options.query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(options.query)) {
      if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
    }
    const qs = params.toString();
    if (qs) url += (url.includes('?') ? '&' : '?') + qs;
  }
  let response;
  try {
    response = await fetch(url, {method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                                 credentials: 'same-origin', cache: 'no-store'});
  } catch (err) {
    throw new ApiError(0, 'network', 'cannot reach the server: ' + (err && err.message ? err.message : err));
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch (_) { data = null; }
  }
  if (!response.ok) {
    const e = data && data.error ? data.error : {};
    const err = new ApiError(response.status, e.code, e.message || response.statusText, e.request_id);
    if (response.status === 401 && auth && !options.token && session) unauthorizedHandler(err);
    throw err;
  }
  return data;
}

// Follows next_cursor until the end (or `max` items) for list routes shaped {data, next_cursor}.
export async function listAll(path, query = {}, max = 1000) {
  const out = [];
  let cursor = '';
  for (;;) {
    const page = await api('GET', path, undefined, {query: {...query, limit: 200, cursor}});
    out.push(...(page && page.data ? page.data : []));
    cursor = page && page.next_cursor;
    if (!cursor || out.length >= max) return out;
  }
}

export const enc = encodeURIComponent;
