// Talking to the server: the token from the page's own URL (?token=T) goes on every API call
// and on the WebSocket URL, so a protected server works by opening /?token=T.

const token = new URLSearchParams(location.search).get('token');

function headers(extra = {}) {
  return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
}

/** GET a JSON API route; throws an Error with the server's one-line message on failure. */
export async function apiGet(path) {
  const res = await fetch(path, { headers: headers() });
  return readJson(res);
}

/** POST JSON to an API route. */
export async function apiPost(path, body) {
  const res = await fetch(path, { method: 'POST', headers: headers({ 'content-type': 'application/json' }), body: JSON.stringify(body) });
  return readJson(res);
}

async function readJson(res) {
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

/** The WebSocket URL of this server, with the token when there is one. */
export function wsUrl() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`;
}
