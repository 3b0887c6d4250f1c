// The job API as the page uses it: every request carries the saved API key as a bearer token.

const KEY_STORAGE = "lessonlens.apiKey";

/** An error answer of the API ({"error": {code, message, detail}}) or a network failure. */
export class ApiError extends Error {
  constructor(status, code, message, detail = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

export function getKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

export function setKey(key) {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

function authHeaders() {
  const key = getKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: keep the status line
  }
  const err = body && body.error;
  if (err && err.message) return new ApiError(response.status, err.code, err.message, err.detail);
  return new ApiError(response.status, "http_error", `${response.status} ${response.statusText}`);
}

/** fetch() with the key; throws ApiError for a non-2xx answer or a network failure. */
export async function apiFetch(path, options = {}) {
  let response;
  try {
    response = await fetch(path, { ...options, headers: { ...authHeaders(), ...(options.headers || {}) } });
  } catch (e) {
    throw new ApiError(0, "network", `The server did not answer (${e.message}).`);
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

export async function getJson(path) {
  return (await apiFetch(path)).json();
}

export async function postJson(path, body = undefined) {
  const options = { method: "POST" };
  if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers = { "Content-Type": "application/json" };
  }
  return (await apiFetch(path, options)).json();
}

/**
 * A file as a blob: URL (a <track> or <video> cannot send a bearer header itself).
 * onProgress(fraction) is called while it downloads when the size is known.
 */
export async function fetchObjectUrl(path, onProgress = () => {}) {
  const response = await apiFetch(path);
  const total = Number(response.headers.get("content-length")) || 0;
  if (!response.body || !total) return URL.createObjectURL(await response.blob());
  const reader = response.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    onProgress(received / total);
  }
  const type = response.headers.get("content-type") || "";
  return URL.createObjectURL(new Blob(chunks, { type }));
}

/**
 * Submit a multipart job. XMLHttpRequest, because fetch() reports no upload progress.
 * Resolves with the job; rejects with ApiError.
 */
export function uploadJob(formData, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/jobs");
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener("load", () => {
      const body = xhr.response;
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else if (body && body.error) reject(new ApiError(xhr.status, body.error.code, body.error.message, body.error.detail));
      else reject(new ApiError(xhr.status, "http_error", `The upload failed (${xhr.status}).`));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network", "The upload did not reach the server.")));
    xhr.send(formData);
  });
}
