// The review API (annotate/review/views.py): claim, submit, skip, renew.
// Every call resolves to {status, data}; status 0 means the request never got an
// answer (network down, timed out). Nothing here adds any identifier: the
// bodies are exactly what the reviewer decided about the clip.

import { t, tf } from "./i18n.js";

const TIMEOUT_MS = 15_000;

export class Api {
  constructor(urls) {
    this.urls = urls; // {claim, submit, skip, renew, home}: from the server (review_page's json_script state)
  }

  claim(queueId) {
    return post(this.urls.claim, { queue_id: queueId ?? null });
  }

  submit(taskId, body) {
    return post(taskUrl(this.urls.submit, taskId), body);
  }

  skip(taskId, reason, note = "") {
    return post(taskUrl(this.urls.skip, taskId), { reason, note });
  }

  renew(taskId) {
    return post(taskUrl(this.urls.renew, taskId), {});
  }
}

/** A task URL from its template: "/review/api/tasks/{task_id}/submit" → "/review/api/tasks/7/submit". */
export function taskUrl(template, taskId) {
  return template.replace("{task_id}", encodeURIComponent(String(taskId)));
}

export async function post(url, body) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    return { status: 0, data: { error: error.name === "TimeoutError" ? t("the server did not answer") : t("no connection") } };
  }
  let data = {};
  try {
    data = await response.json();
  } catch {
    data = { error: tf("the server answered %(status)s", { status: response.status }) };
  }
  return { status: response.status, data };
}

/** The CSRF token: the cookie (fresh after a sign-in in another tab), else the page's. */
export function csrfToken() {
  const cookie = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
  if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
  return document.querySelector("input[name=csrfmiddlewaretoken]")?.value || "";
}

/** Worth trying again with the same idempotency key: no answer, a server error, rate limits. */
export function isRetryable(status) {
  return status === 0 || status === 401 || status === 408 || status === 429 || status >= 500;
}

/** Exponential backoff: 1, 2, 4, 8, 16, 30, 30… seconds, with a little jitter. */
export function backoffMs(attempt) {
  const base = Math.min(30, 2 ** attempt) * 1000;
  return Math.round(base * (0.85 + Math.random() * 0.3));
}

/** A random idempotency key (crypto.randomUUID needs a secure context; this does not). */
export function newKey() {
  if (crypto.randomUUID && window.isSecureContext) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
