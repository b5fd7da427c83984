// One WebSocket for the whole page. Subscriptions are remembered so that after a reconnect
// (exponential backoff with jitter, 0.5 s up to 10 s) they are all sent again; the server then
// answers each with a fresh snapshot.

export class Live {
  /** @param {string} url @param {(state: string, detail?: string) => void} onState */
  constructor(url, onState) {
    this.url = url;
    this.onState = onState;
    this.subs = new Map();
    this.attempt = 0;
    this.ws = null;
    this.connect();
  }

  /** Subscribes (now, and again after every reconnect). handler gets snapshot/update/alert/error messages. */
  subscribe(id, request, handler) {
    this.subs.set(id, { request, handler });
    if (this.ws?.readyState === WebSocket.OPEN) this.send(id, request);
  }

  send(id, request) {
    this.ws.send(JSON.stringify({ op: 'subscribe', id, ...request }));
  }

  connect() {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    this.onState('connecting');
    ws.onopen = () => {
      this.attempt = 0;
      this.onState('live');
      for (const [id, s] of this.subs) this.send(id, s.request);
    };
    ws.onmessage = (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      const sub = msg.id === undefined ? undefined : this.subs.get(msg.id);
      if (sub) sub.handler(msg);
      else if (msg.op === 'error') console.warn(`seismo: ${msg.message}`);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      const delay = Math.min(10_000, 500 * 2 ** this.attempt++) * (0.5 + Math.random() / 2);
      this.onState('offline', ev.reason || `reconnecting in ${Math.round(delay / 1000)} s`);
      setTimeout(() => this.connect(), delay);
    };
  }
}
