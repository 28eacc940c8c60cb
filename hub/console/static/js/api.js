// The public API (/api/v1) and its JSON envelope.
//
// Every call returns the success envelope ({data, message, meta}) or throws an
// ApiError carrying the error envelope's code, message and details. A 401 on
// an authenticated call spends the refresh token once (session.js) and
// repeats the call, so an access token that expired while the laptop slept
// does not end the session.

export const API_BASE = "/api/v1";

export class ApiError extends Error {
  constructor(status, envelope) {
    super(envelope.message || `The hub answered ${status}.`);
    this.name = "ApiError";
    this.status = status;
    this.code = envelope.code || "ERROR";
    this.details = envelope.details || {};
    this.requestId = envelope.meta ? envelope.meta.request_id : null;
  }

  /** Field errors as the hub reports them: details.fields.<location>.<field> → [messages]. */
  get fieldErrors() {
    const fields = this.details.fields || {};
    return { ...(fields.query || {}), ...(fields.form || {}), ...(fields.json || {}) };
  }
}

let auth = null; // {accessToken(): string|null, refresh(): Promise<void>}

/** session.js hands in how to get and renew the access token. */
export function configureAuth(provider) {
  auth = provider;
}

async function send(method, path, { body, token, headers, base }) {
  const init = {
    method,
    headers: { Accept: "application/json", ...(headers || {}) },
    cache: "no-store",
    credentials: "same-origin",
  };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch((base ?? API_BASE) + path, init);
  } catch {
    throw new ApiError(0, {
      code: "NETWORK_ERROR",
      message: "The hub could not be reached. Check the connection and try again.",
    });
  }
  let envelope = null;
  try {
    envelope = await response.json();
  } catch {
    envelope = null;
  }
  if (!envelope || typeof envelope !== "object") {
    throw new ApiError(response.status, {
      code: "BAD_RESPONSE",
      message: `The hub answered ${response.status} without a JSON body.`,
    });
  }
  if (!response.ok || envelope.success === false) throw new ApiError(response.status, envelope);
  return envelope;
}

/**
 * Call the API. Options: `body` (JSON), `headers`, `auth` (default true: send
 * the access token and renew it once on 401), `token` (send this token
 * instead), `base` (path prefix, default /api/v1).
 */
export async function request(method, path, options = {}) {
  const useAuth = options.auth !== false && !options.token;
  const token = options.token || (useAuth && auth ? auth.accessToken() : null);
  try {
    return await send(method, path, { ...options, token });
  } catch (err) {
    if (!(useAuth && auth && err.status === 401 && token)) throw err;
    await auth.refresh(); // throws (and ends the session) if the refresh token is spent
    return send(method, path, { ...options, token: auth.accessToken() });
  }
}

export const api = {
  get: (path, options) => request("GET", path, options),
  post: (path, body, options = {}) => request("POST", path, { ...options, body }),
  patch: (path, body, options = {}) => request("PATCH", path, { ...options, body }),
  delete: (path, options) => request("DELETE", path, options),
};

/** `?a=1&b=2` from an object, skipping empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
