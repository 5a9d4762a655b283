// The dashboard's realtime feed. Accounts and operators receive every event of the
// conversations they may see without subscribing, so one socket serves the whole UI.
//
// Connect: POST /v1/ws/ticket (Bearer) -> {ticket}; then ws(s)://host/v1/ws?ticket=… (single use,
// so every reconnect fetches a new one). Reconnects with exponential backoff and jitter; a
// "shutdown" frame's reconnect_after_ms is honoured. Listeners get each server frame, plus a
// synthetic {type: "live.open", data: {resumed}} after each (re)connect so views can close the
// gap (refetch lists, catch up history with after_seq).

import {api, ApiError} from './api.js';

export class LiveClient {
  constructor() {
    this.socket = null;
    this.state = 'offline';  // connecting | live | offline
    this.listeners = new Set();
    this.stateListeners = new Set();
    this.attempt = 0;
    this.timer = null;
    this.pingTimer = null;
    this.stopped = true;
    this.everOpened = false;
    this.nextId = 1;
    this.onFatal = () => {};
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pingTimer);
    if (this.socket) {
      const socket = this.socket;
      this.socket = null;
      try { socket.close(1000, 'bye'); } catch (_) { /* already closed */ }
    }
    this.everOpened = false;
    this.setState('offline');
  }

  on(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onState(listener) {
    this.stateListeners.add(listener);
    listener(this.state);
    return () => this.stateListeners.delete(listener);
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }

  // Sends a client frame if the socket is open; returns false otherwise (callers fall back to REST).
  send(type, data) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify({type, id: 'd' + this.nextId++, data}));
    return true;
  }

  async connect() {
    if (this.stopped) return;
    this.setState('connecting');
    let ticket;
    try {
      ticket = await api('POST', '/v1/ws/ticket');
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        this.stop();
        this.onFatal(err);
        return;
      }
      return this.scheduleReconnect();
    }
    if (this.stopped) return;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let socket;
    try {
      socket = new WebSocket(proto + '//' + location.host + '/v1/ws?ticket=' + encodeURIComponent(ticket.ticket));
    } catch (_) {
      return this.scheduleReconnect();
    }
    this.socket = socket;
    socket.addEventListener('message', (event) => {
      if (this.socket !== socket) return;
      let frame;
      try { frame = JSON.parse(event.data); } catch (_) { return; }
      if (!frame || typeof frame.type !== 'string') return;
      if (frame.type === 'hello') {
        const resumed = this.everOpened;
        this.everOpened = true;
        this.attempt = 0;
        this.setState('live');
        const heartbeat = frame.data && frame.data.heartbeat_ms > 0 ? frame.data.heartbeat_ms : 25000;
        clearInterval(this.pingTimer);
        // The server closes a client silent for 2 heartbeats; browsers answer protocol pings,
        // and this keeps us audible through proxies that swallow them.
        this.pingTimer = setInterval(() => this.send('ping', {}), Math.max(5000, heartbeat / 2));
        this.emit({type: 'live.open', data: {resumed, principal: frame.data && frame.data.principal}});
        return;
      }
      if (frame.type === 'shutdown') {
        const after = frame.data && frame.data.reconnect_after_ms;
        this.dropSocket();
        return this.scheduleReconnect(typeof after === 'number' ? after : undefined);
      }
      this.emit(frame);
    });
    socket.addEventListener('close', () => {
      if (this.socket !== socket) return;
      this.dropSocket();
      this.scheduleReconnect();
    });
    socket.addEventListener('error', () => {
      // A close event follows; nothing else to do.
    });
  }

  dropSocket() {
    clearInterval(this.pingTimer);
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      try { socket.close(); } catch (_) { /* ignore */ }
    }
    if (!this.stopped) this.setState('offline');
  }

  scheduleReconnect(delayMs) {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.setState('offline');
    const base = Math.min(30000, 1000 * 2 ** Math.min(this.attempt, 5));
    const delay = delayMs !== undefined ? delayMs : base / 2 + Math.random() * base / 2;
    this.attempt++;
    this.timer = setTimeout(() => this.connect(), delay);
  }

  emit(frame) {
    for (const listener of Array.from(this.listeners)) {
      try {
        listener(frame);
      } catch (err) {
        console.error('live listener failed', err);
      }
    }
  }
}

export const live = new LiveClient();
