// The review page, the plugin host: loads the page's plugins and gives each the
// host object of docs/review-plugins.md. Methods of ReviewPage (page.js).

import { post } from "./api.js";
import { byId as $, el } from "./dom.js";
import { register } from "./keys.js";

// Page plugins, installed in this order once the first clip is on screen. Each is
// loaded on its own: one that fails to load or install leaves the rest working.
// Each exports install(host) and reads its URLs and choices with host.config(name).
const PLUGINS = ["./spans.js", "./flag.js", "./ask.js"];

/** Run a plugin's callback; its failure is logged, never the page's. */
export function safely(callback, ...args) {
  try {
    callback(...args);
  } catch (error) {
    console.error("review plugin callback failed", error);
  }
}

/** A plugin's URLs and choices from the server: the json_script "<name>-state" (empty if there is none). */
function pluginConfig(name) {
  const script = document.getElementById(`${name}-state`);
  return script ? JSON.parse(script.textContent) : {};
}

export const PluginHost = {
  async loadPlugins() {
    const host = this.host();
    const modules = await Promise.allSettled(PLUGINS.map((path) => import(path)));
    modules.forEach((result, index) => {
      try {
        if (result.status === "rejected") throw result.reason;
        result.value.install(host);
      } catch (error) {
        console.error(`review plugin ${PLUGINS[index]} did not load`, error);
      }
    });
  },

  /** What a plugin gets (docs/review-plugins.md). */
  host() {
    const page = this;
    return {
      panel: (id, title) => page.panel(id, title),
      current: () => page.currentPayload(),
      onClipChange(callback) {
        page.clipListeners.push(callback);
        if (page.notified !== undefined) safely(callback, page.notified);
      },
      onBeforeSubmit: (callback) => page.submitHooks.push(callback),
      keepForUndo: ({ save, restore }) => page.undoKeepers.push({ save, restore }),
      keys: { register: (binding) => register(binding) },
      api: {
        async post(url, body) {
          const { status, data } = await post(url, body);
          return { ok: status >= 200 && status < 300, status, data };
        },
      },
      config: (name) => pluginConfig(name),
      textarea: $("transcript"),
      player: {
        seek: (seconds) => page.player.seek(seconds),
        currentTime: () => page.player.currentTime,
        pause: () => page.player.stop(),
      },
      status: (message, kind = "info") => page.setSave({ ok: "saved", error: "error" }[kind] || "info", message),
      draft() {
        const item = page.items[0];
        if (!item || page.view !== "clip") return null;
        const seconds = Math.round(performance.now() - item.shownAt) / 1000;
        const { idempotency_key: _key, ...body } = page.submission(item, { accidental: false, seconds });
        return body;
      },
      advance() {
        page.advance();
        page.topUp();
      },
      reveal(id) {
        const section = page.panels.get(id);
        if (section) section.parentElement.scrollIntoView({ block: "nearest" });
      },
    };
  },

  /**
   * A card in the side column for a plugin (created once per id): a heading,
   * and the <section> returned, which is the plugin's to fill (or replace the
   * children of) as it likes.
   */
  panel(id, title) {
    if (!this.panels.has(id)) {
      const heading = el("h2", { className: "section-title", id: `panel-${id}-title`, text: title });
      const section = el("section", { className: "panel-body", "aria-labelledby": heading.id });
      const card = el("div", { className: "card plugin-panel", id: `panel-${id}` }, heading, section);
      $("side-panels").append(card);
      this.panels.set(id, section);
    }
    return this.panels.get(id);
  },

  currentPayload() {
    return this.view === "clip" && this.items[0] ? this.items[0].payload : null;
  },

  notifyClip() {
    const payload = this.currentPayload();
    if (payload === this.notified) return;
    this.notified = payload;
    for (const callback of this.clipListeners) safely(callback, payload);
  },
};
