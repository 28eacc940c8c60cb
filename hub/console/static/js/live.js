// Live events over Socket.IO (the vendored socket.io-client 4.x, window.io).
//
// The Socket.IO server is its own process: GET /api/v1/realtime says where it
// is, and the socket is opened there with the default client options
// (long-polling first, then the upgrade to a WebSocket). It authenticates with
// the current access token on every (re)connect.
//
// Sessions end on the server: at logout, a password change, a deactivation or
// when the access token expires, the server sends `session.ended` and closes
// the socket. So the socket lives past its token's expiry, every renewed
// access token is handed to it (`reauth`). A refused or server-closed socket
// is not retried by the client by itself, so we renew the token once and
// connect again; if the login itself is over, the renewal fails and the
// session ends (logout screen).
//
// Screens listen with `on(event, fn)` to any server event (job.updated,
// notification, and whatever later integrations emit) and with
// `onConnect(fn)` to catch up on what they missed before the socket was up;
// `liveScreen(onJobUpdated, reload)` is the pair of them every job screen uses.

import { api } from "./api.js";
import { getAccessToken, onAccessToken, refresh } from "./session.js";

let socket = null;
let opening = null;
let generation = 0; // bumped by disconnect(): an endpoint lookup still under way is then dropped
let state = "offline"; // "connecting" | "live" | "offline"
let refusals = 0;
const handlers = new Map(); // event -> Set<fn>
const stateListeners = new Set();
const connectListeners = new Set();

function setState(next) {
  state = next;
  for (const fn of stateListeners) fn(state);
}

// A renewed access token keeps the open socket alive past the old one's expiry.
// If the server will not take it, the socket reconnects with it instead.
onAccessToken((token) => {
  if (!socket || !socket.connected) return;
  socket.timeout(10_000).emit("reauth", { token }, (err, answer) => {
    if (!err && answer && answer.ok === false && socket) socket.disconnect().connect();
  });
});

/** Open the socket (idempotent). */
export function connect() {
  if (socket || opening) return;
  if (typeof window.io !== "function") {
    setState("offline");
    return;
  }
  setState("connecting");
  const mine = generation;
  opening = api
    .get("/realtime", { auth: false })
    .then((envelope) => {
      if (mine === generation) open(envelope.data);
    })
    .catch(() => setState("offline"))
    .finally(() => {
      opening = null;
    });
}

function open({ url, path }) {
  socket = window.io(url, { path, auth: (cb) => cb({ token: getAccessToken() }) });
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
  generation += 1;
  if (socket) {
    socket.off();
    socket.disconnect();
    socket = null;
  }
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
