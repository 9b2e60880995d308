/*
 * A client for the jido gateway protocol (docs/gateway-protocol.md) in plain JavaScript, for browsers
 * (and Node >= 22, or Node 20 with --experimental-websocket). No dependencies, no build step.
 *
 *   const gw = new JidoGateway("ws://127.0.0.1:8765/", { token: "s3cret", onStatus: console.log });
 *   await gw.connect();
 *   const sub = await gw.subscribe("demo.**", (item) => console.log(item.offset, item.signal.type));
 *   const offset = await gw.publish(JidoGateway.signal("demo.hello", { from: "browser" }));
 *   const { state } = await gw.call("counter", JidoGateway.signal("counter.add", { by: 2 }));
 *
 * The token goes in the first frame (`auth`): browsers cannot set an Authorization header on a websocket.
 * When the connection drops (a network failure, a server restart, close 4008 for a slow consumer) the client
 * reconnects with backoff and resubscribes: transient subscriptions from the last offset received + 1, so
 * nothing is lost and nothing comes twice; durable ones by their name. Requests in flight when the
 * connection dropped fail with code "connection_lost" (they may or may not have been carried out).
 */
"use strict";

class GatewayError extends Error {
  constructor(code, message, details = {}) {
    super(message);
    this.name = "GatewayError";
    this.code = code;
    this.details = details;
  }
}

class JidoGateway {
  constructor(url, { token = null, onStatus = () => {}, heartbeatMs = 15000, maxBackoffMs = 5000 } = {}) {
    this.url = url;
    this.token = token;
    this.onStatus = onStatus;
    this.heartbeatMs = heartbeatMs;
    this.maxBackoffMs = maxBackoffMs;
    this.ws = null;
    this.ready = false;            // open and authenticated
    this.closed = false;           // close() was called, or the token was refused
    this.nextId = 0;
    this.pending = new Map();      // request id -> {resolve, reject}
    this.waiting = [];             // requests made while not ready: sent once ready
    this.subscriptions = new Set();
    this.byServerId = new Map();   // server subscription id ("s1") -> subscription
    this.failures = 0;
    this.reconnects = 0;
    this.heartbeat = null;
    this.firstConnection = null;
  }

  /** A CloudEvents signal object with a fresh id. */
  static signal(type, data = null, source = "/browser") {
    const signal = { specversion: "1.0", id: crypto.randomUUID(), source, type };
    if (data !== null && data !== undefined) signal.data = data;
    return signal;
  }

  /** Open the connection; resolves once authenticated, rejects if the first attempt fails. */
  connect() {
    this.firstConnection = {};
    const promise = new Promise((resolve, reject) => Object.assign(this.firstConnection, { resolve, reject }));
    this.open();
    return promise;
  }

  open() {
    this.onStatus(`connecting to ${this.url}`);
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => this.authenticate(ws);
    ws.onmessage = (event) => this.receive(JSON.parse(event.data));
    ws.onclose = (event) => this.lost(ws, event.code, event.reason);
  }

  async authenticate(ws) {
    try {
      if (this.token !== null) await this.send(ws, "auth", { token: this.token });
    } catch (error) {
      return; // the server closes with 4001 next; lost() reports it
    }
    this.ready = true;
    this.failures = 0;
    this.onStatus(`connected to ${this.url}`);
    for (const sub of this.subscriptions) this.resubscribe(sub);
    for (const { op, fields, onResult, resolve, reject } of this.waiting.splice(0)) {
      this.send(ws, op, fields, onResult).then(resolve, reject);
    }
    this.startHeartbeat(ws);
    if (this.firstConnection) {
      this.firstConnection.resolve(this);
      this.firstConnection = null;
    }
  }

  startHeartbeat(ws) {
    clearInterval(this.heartbeat);
    // Browsers answer the server's websocket pings but cannot send their own: the ping op checks the server.
    this.heartbeat = setInterval(() => {
      const timer = setTimeout(() => ws.close(4000, "no answer to ping"), this.heartbeatMs);
      this.send(ws, "ping").then(() => clearTimeout(timer), () => clearTimeout(timer));
    }, this.heartbeatMs);
  }

  lost(ws, code, reason) {
    if (ws !== this.ws) return;
    clearInterval(this.heartbeat);
    this.ready = false;
    this.byServerId.clear();
    for (const sub of this.subscriptions) sub.serverId = null;
    const error = new GatewayError("connection_lost", `connection closed (${code}${reason ? ": " + reason : ""})`);
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
    if (this.firstConnection) {
      this.firstConnection.reject(new GatewayError(code === 4001 ? "unauthorized" : "unavailable", error.message));
      this.firstConnection = null;
      this.closed = true;
    }
    if (this.closed || code === 4001) {
      this.closed = true;
      this.onStatus(`closed (${code}${reason ? ": " + reason : ""})`);
      for (const { reject } of this.waiting.splice(0)) reject(error);
      return;
    }
    const delay = Math.min(this.maxBackoffMs, 100 * 2 ** this.failures) * (0.5 + Math.random() / 2);
    this.failures += 1;
    this.onStatus(`disconnected (${code}${reason ? ": " + reason : ""}); reconnecting in ${Math.round(delay)} ms`);
    setTimeout(() => {
      this.reconnects += 1;
      this.open();
    }, delay);
  }

  receive(frame) {
    if (frame.op === "signal") {
      const sub = this.byServerId.get(frame.subscription);
      if (!sub) return; // after an unsubscribe: ignore
      if (sub.last === null || frame.offset > sub.last) sub.last = frame.offset;
      sub.onSignal({ offset: frame.offset, signal: frame.signal, subscription: frame.subscription });
      return;
    }
    const waiter = this.pending.get(frame.id);
    if (waiter) {
      this.pending.delete(frame.id);
      if (frame.op === "result") {
        // Synchronously, before the next frame is read: a subscription's signals follow its result at once.
        if (waiter.onResult) waiter.onResult(frame.result);
        waiter.resolve(frame.result);
      } else {
        waiter.reject(new GatewayError(frame.code, frame.message, frame.details || {}));
      }
      return;
    }
    if (frame.op === "error") {
      // A notice: a durable subscription taken over by another connection, or a frame refused unread.
      const sub = this.byServerId.get((frame.details || {}).subscription);
      if (sub) {
        this.byServerId.delete(sub.serverId);
        this.subscriptions.delete(sub);
        sub.onError(new GatewayError(frame.code, frame.message, frame.details));
      } else {
        this.onStatus(`gateway: ${frame.code}: ${frame.message}`);
      }
    }
  }

  send(ws, op, fields = {}, onResult = null) {
    const id = String(++this.nextId);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onResult });
      ws.send(JSON.stringify({ op, id, ...fields }));
    });
  }

  /** Send a request; waits for the connection when it is down. Resolves with the result object. */
  request(op, fields = {}, onResult = null) {
    if (this.closed) return Promise.reject(new GatewayError("closed", "the client is closed"));
    if (this.ready) return this.send(this.ws, op, fields, onResult);
    return new Promise((resolve, reject) => this.waiting.push({ op, fields, onResult, resolve, reject }));
  }

  async publish(signal) {
    return (await this.request("publish", { signal })).offset;
  }

  call(agent, signal, timeout = 5) {
    return this.request("call", { agent, signal, timeout });
  }

  inspect() {
    return this.request("inspect");
  }

  /**
   * Subscribe to the signals whose type matches `pattern`; `onSignal({offset, signal, subscription})` is
   * called for each. Options: `from` (an offset, "beginning" or "latest"), `durable` (a name). Resolves with
   * an object with `unsubscribe()` and, for durable subscriptions, `ack(offset)`.
   */
  async subscribe(pattern, onSignal, { from = null, durable = null, onError = () => {} } = {}) {
    const sub = { pattern, onSignal, onError, durable, start: from, resumeFrom: null, last: null, serverId: null };
    await this.attach(sub, this.ready ? this.ws : null);
    this.subscriptions.add(sub);
    return {
      unsubscribe: async () => {
        this.subscriptions.delete(sub);
        const serverId = sub.serverId;
        if (serverId) {
          this.byServerId.delete(serverId);
          await this.request("unsubscribe", { subscription: serverId });
        }
      },
      ack: async (offset) => {
        if (sub.serverId) await this.request("ack", { subscription: sub.serverId, offset });
      },
      get lastOffset() {
        return sub.last;
      },
    };
  }

  async attach(sub, ws) {
    const fields = { pattern: sub.pattern };
    // Resume: a transient subscription from the offset after the last one received; a durable one by name.
    const from = sub.durable === null && sub.last !== null ? sub.last + 1 : sub.resumeFrom ?? sub.start;
    if (from !== null) fields.from = from;
    if (sub.durable !== null) fields.durable = sub.durable;
    const onResult = (result) => {
      sub.serverId = result.subscription;
      if (sub.resumeFrom === null) sub.resumeFrom = result.from;
      this.byServerId.set(result.subscription, sub);
    };
    if (ws) await this.send(ws, "subscribe", fields, onResult);
    else await this.request("subscribe", fields, onResult);
  }

  resubscribe(sub) {
    this.attach(sub, this.ws).catch((error) => {
      if (error.code === "connection_lost") return; // the next connection tries again
      this.subscriptions.delete(sub);
      sub.onError(error);
    });
  }

  close() {
    this.closed = true;
    clearInterval(this.heartbeat);
    if (this.ws) this.ws.close(1000);
  }
}

if (typeof module !== "undefined") module.exports = { JidoGateway, GatewayError };
