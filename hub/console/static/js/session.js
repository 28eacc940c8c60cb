// The login: access token in memory, refresh token handed over to the next
// page of this tab through sessionStorage.
//
// The refresh token lives in this module's memory while the page runs. On
// `pagehide` (reload, navigating away) it is parked in sessionStorage, and the
// next page of the same tab takes it out again at start. So a reload keeps you
// logged in, while the token is never at rest in storage while a page runs
// (script injection finds nothing there), is never sent automatically (no
// cookie, so no CSRF), is not shared with other tabs, and is gone with the
// tab. A duplicated tab copies sessionStorage, which is empty then, so it
// does not inherit a token already in use. The CSP allows no inline or
// foreign script and no screen builds HTML from data. Refresh tokens rotate:
// each is spent on use, and a spent one presented again (a stolen copy)
// revokes the whole login on the server.
//
// The access token lives only in memory. It is renewed with POST
// /auth/refresh a little before it expires; a renewal that fails for lack of
// network is retried, a 401 ends the session.

import { api, ApiError, configureAuth } from "./api.js";

const REFRESH_KEY = "hub.console.refresh_token";
const RETRY_MS = 10_000;

let accessToken = null;
let refreshTokenValue = null;
let refreshTimer = null;
let inFlight = null;
let current = null; // {user, tenant}
const listeners = new Set();
const tokenListeners = new Set();

/** Subscribe to session changes: fn({type: "login"|"logout", reason?}). Returns an unsubscribe. */
export function onSessionChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit(event) {
  for (const fn of listeners) fn(event);
}

/** Called with each new access token (login and every renewal). Returns an unsubscribe. */
export function onAccessToken(fn) {
  tokenListeners.add(fn);
  return () => tokenListeners.delete(fn);
}

export function getAccessToken() {
  return accessToken;
}

/** {user, tenant} of the logged-in user, or null. */
export function currentUser() {
  return current;
}

export function isLoggedIn() {
  return current !== null;
}

/** Take the token a previous page of this tab parked, leaving storage empty. */
function takeParkedToken() {
  try {
    const token = sessionStorage.getItem(REFRESH_KEY);
    sessionStorage.removeItem(REFRESH_KEY);
    return token;
  } catch {
    return null; // storage disabled: memory only, a reload logs out
  }
}

function parkToken() {
  try {
    if (refreshTokenValue) sessionStorage.setItem(REFRESH_KEY, refreshTokenValue);
  } catch {
    /* storage disabled */
  }
}

refreshTokenValue = takeParkedToken();
window.addEventListener("pagehide", parkToken);
// Back from the back/forward cache: this page runs again, so unpark.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) takeParkedToken();
});

/** Seconds before expiry at which the access token is renewed. */
export function refreshMargin(expiresIn) {
  return Math.min(60, Math.max(1, expiresIn * 0.2));
}

function storeTokens(pair) {
  accessToken = pair.access_token;
  refreshTokenValue = pair.refresh_token;
  scheduleRefresh(Math.max(1, pair.expires_in - refreshMargin(pair.expires_in)) * 1000);
  for (const fn of tokenListeners) fn(accessToken);
}

function scheduleRefresh(delayMs) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    refresh().catch((err) => {
      // Offline: try again shortly, as long as the session is still ours.
      if (err.status === 0 && accessToken) scheduleRefresh(RETRY_MS);
    });
  }, delayMs);
}

/** Spend the refresh token for a new pair; concurrent callers share one request. */
export function refresh() {
  if (!inFlight) {
    inFlight = doRefresh().finally(() => {
      inFlight = null;
    });
  }
  return inFlight;
}

async function doRefresh() {
  const token = refreshTokenValue;
  if (!token) {
    throw new ApiError(401, { code: "UNAUTHORIZED", message: "Log in to continue." });
  }
  try {
    const envelope = await api.post("/auth/refresh", undefined, { token });
    storeTokens(envelope.data);
  } catch (err) {
    if (err.status === 401) end("Your session has ended. Log in again.");
    throw err;
  }
}

async function loadMe() {
  const envelope = await api.get("/auth/me");
  current = { user: envelope.data.user, tenant: envelope.data.tenant };
}

/** Log in with email and password; throws ApiError (message, field errors) on failure. */
export async function login(email, password) {
  const envelope = await api.post("/auth/login", { email, password }, { auth: false });
  storeTokens(envelope.data);
  try {
    await loadMe();
  } catch (err) {
    clearTokens();
    throw err;
  }
  emit({ type: "login" });
}

/** Resume the tab's login after a reload; false when there is none to resume. */
export async function restore() {
  if (!refreshTokenValue) return false;
  try {
    await refresh();
    await loadMe();
  } catch (err) {
    // A 401 already ended the session (end() says so). Anything else (hub
    // unreachable, 5xx): keep the token, so the next reload can try again.
    if (err.status !== 401) emit({ type: "logout", reason: err.message });
    return false;
  }
  emit({ type: "login" });
  return true;
}

/** Revoke the tokens on the server (best effort) and forget them here. */
export async function logout() {
  const token = refreshTokenValue;
  try {
    if (accessToken) {
      await api.post("/auth/logout", token ? { refresh_token: token } : {}, { auth: true });
    }
  } catch {
    /* already revoked or offline: forgetting the tokens locally still logs out */
  }
  end(null);
}

function clearTokens() {
  clearTimeout(refreshTimer);
  accessToken = null;
  refreshTokenValue = null;
}

function end(reason) {
  const wasLoggedIn = current !== null;
  clearTokens();
  current = null;
  if (wasLoggedIn || reason) emit({ type: "logout", reason });
}

configureAuth({ accessToken: getAccessToken, refresh });
