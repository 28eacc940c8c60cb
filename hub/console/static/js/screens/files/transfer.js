// Byte transfers that api.js (JSON only) does not do: an upload with
// progress events (XMLHttpRequest; fetch cannot report upload progress) and
// an authenticated download into a Blob (thumbnails and downloads on the
// local storage backend need the Authorization header, which <img src> and
// <a href> cannot send). Both renew the token once on 401, like api.js.

import { API_BASE, ApiError } from "../../api.js";
import { getAccessToken, refresh } from "../../session.js";

function envelopeOf(status, text) {
  try {
    const body = JSON.parse(text);
    if (body && typeof body === "object") return body;
  } catch {
    // not JSON: fall through
  }
  return { code: "BAD_RESPONSE", message: `The hub answered ${status} without a JSON body.` };
}

function networkError() {
  return new ApiError(0, { code: "NETWORK_ERROR",
    message: "The hub could not be reached. Check the connection and try again." });
}

function sendForm(path, form, { onProgress, headers }) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", API_BASE + path);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Authorization", `Bearer ${getAccessToken()}`);
    for (const [name, value] of Object.entries(headers || {})) xhr.setRequestHeader(name, value);
    // Listeners on xhr.upload must be added before send() or no events fire.
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) onProgress(e.loaded, e.total);
    });
    xhr.upload.addEventListener("load", () => onProgress(1, 1));
    xhr.addEventListener("load", () => {
      const envelope = envelopeOf(xhr.status, xhr.responseText);
      if (xhr.status >= 200 && xhr.status < 300 && envelope.success !== false) resolve(envelope);
      else reject(new ApiError(xhr.status, envelope));
    });
    xhr.addEventListener("error", () => reject(networkError()));
    xhr.addEventListener("abort", () => reject(new ApiError(0, { code: "ABORTED", message: "Upload cancelled." })));
    xhr.send(form);
  });
}

/**
 * POST a multipart form, calling `onProgress(loaded, total)` as the bytes
 * leave the browser. Resolves to the success envelope; throws ApiError.
 */
export async function uploadForm(path, form, options = {}) {
  try {
    return await sendForm(path, form, options);
  } catch (err) {
    if (err.status !== 401) throw err;
    await refresh();
    options.onProgress?.(0, 1);
    return sendForm(path, form, options);
  }
}

async function getOnce(path) {
  let response;
  try {
    response = await fetch(API_BASE + path, { cache: "no-store", credentials: "same-origin",
      headers: { Authorization: `Bearer ${getAccessToken()}` } });
  } catch {
    throw networkError();
  }
  if (!response.ok) throw new ApiError(response.status, envelopeOf(response.status, await response.text()));
  return response.blob();
}

/** GET bytes with the token; resolves to a Blob, throws ApiError. */
export async function fetchBlob(path) {
  try {
    return await getOnce(path);
  } catch (err) {
    if (err.status !== 401) throw err;
    await refresh();
    return getOnce(path);
  }
}
