// Live events over Socket.IO (the vendored socket.io-client 4.x, window.io).
//
// The socket authenticates with the current access token on every
// (re)connect. The server refuses a connect with an expired token; the client
// does not retry such a refusal by itself, so we renew the token once and
// connect again. Screens listen with `on(event, fn)` to any server event
// (job.updated, notification, and whatever later integrations emit) and with
// `onConnect(fn)` to catch up on what they missed before the socket was up;
// `liveScreen(onJobUpdated, reload)` is the pair of them every job screen uses.

import { getAccessToken, refresh } from "./session.js";

let socket = null;
let state = "offline"; // "connecting" | "live" | "offline"
let refusals = 0;
const handlers = new Map(); // event -> Set<fn>
const stateListeners = new Set();
const connectListeners = new Set();

function setState(next) {
  state = next;
  for (const fn of stateListeners) fn(state);
}

/** Open the socket (idempotent). */
export function connect() {
  if (socket) return;
  if (typeof window.io !== "function") {
    setState("offline");
    return;
  }
  setState("connecting");
  socket = window.io({
    auth: (cb) => cb({ token: getAccessToken() }),
    // WebSocket first: it needs no sticky sessions behind a load balancer.
    // Long-polling is the fallback for networks that block WebSockets.
    transports: ["websocket", "polling"],
    tryAllTransports: true,
  });
  socket.on("connect", () => {
    refusals = 0;
    setState("live");
    for (const fn of connectListeners) fn();
  });
  socket.on("disconnect", () => {
    setState("connecting");
    // The client reconnects by itself unless the server closed the socket.
    if (!socket.active) renewAndReconnect();
  });
  socket.on("connect_error", () => {
    if (socket.active) {
      setState("connecting"); // a transport problem: the client retries with backoff
      return;
    }
    renewAndReconnect(); // refused by the server: token expired or revoked
  });
  socket.onAny((event, data) => {
    const set = handlers.get(event);
    if (set) for (const fn of set) fn(data);
  });
}

async function renewAndReconnect() {
  refusals += 1;
  if (refusals > 2) {
    setState("offline");
    return;
  }
  try {
    await refresh();
    if (socket) socket.connect();
  } catch {
    setState("offline");
  }
}

/** Close the socket (on logout). */
export function disconnect() {
  if (!socket) return;
  socket.off();
  socket.disconnect();
  socket = null;
  setState("offline");
}

/** Listen to a server event; returns a function that stops listening. */
export function on(event, fn) {
  if (!handlers.has(event)) handlers.set(event, new Set());
  handlers.get(event).add(fn);
  return () => handlers.get(event).delete(fn);
}

/**
 * Called each time the socket connects (events sent while it was down are
 * lost, so re-read what you show); returns an unsubscribe.
 */
export function onConnect(fn) {
  connectListeners.add(fn);
  return () => connectListeners.delete(fn);
}

/**
 * What a screen (or part of one) showing jobs listens to while shown:
 * `onJobUpdated` for each job.updated event and `onReconnect` each time the
 * socket connects (to re-read what it shows). Returns one function that stops
 * both, for the screen's cleanup.
 */
export function liveScreen(onJobUpdated, onReconnect) {
  const stops = [on("job.updated", onJobUpdated), onConnect(onReconnect)];
  return () => stops.forEach((stop) => stop());
}

/**
 * `fn` at most once per burst of calls: each call (re)starts a `ms` timer.
 * `.cancel()` drops a run still waiting (for a screen's cleanup).
 */
export function debounce(fn, ms) {
  let timer = null;
  const call = () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
  call.cancel = () => clearTimeout(timer);
  return call;
}

/** Observe the connection state; returns an unsubscribe. */
export function onState(fn) {
  stateListeners.add(fn);
  fn(state);
  return () => stateListeners.delete(fn);
}

/** Send a client event and wait for its acknowledgement (rejects after 10 s or when offline). */
export async function call(event, data) {
  if (!socket || !socket.connected) throw new Error("not connected");
  return socket.timeout(10_000).emitWithAck(event, data);
}
