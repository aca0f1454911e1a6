// The only place that talks to /v1. Same-origin fetch: the HttpOnly wd_token cookie
// authenticates, so no token is ever visible to scripts.

export class ApiError extends Error {
  constructor(status, code, message, detail) {
    super(message || `Request failed (${status})`);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

export function url(path, params = {}) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value != null && value !== "") search.set(key, value);
  }
  const query = search.toString();
  return query ? `${path}?${query}` : path;
}

async function failure(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: keep the status only
  }
  const error = body?.error ?? {};
  const apiError = new ApiError(response.status, error.code, error.message, error.invalid_params);
  if (response.status === 401) window.dispatchEvent(new CustomEvent("wd:signed-out"));
  return apiError;
}

export async function get(path, params, signal) {
  const response = await fetch(url(path, params), {
    credentials: "same-origin", headers: { Accept: "application/json" }, signal,
  });
  if (!response.ok) throw await failure(response);
  return response.json();
}

export async function post(path, body, signal) {
  const response = await fetch(path, {
    method: "POST", credentials: "same-origin", signal,
    headers: { Accept: "application/json", "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  return response.json();
}

export function isAbort(error) {
  return error?.name === "AbortError";
}

/** An API list's rows and pagination, whatever it holds. */
export function rows(payload) {
  const data = payload?.data;
  return Array.isArray(data) ? data : [];
}
