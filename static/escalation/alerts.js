// Alerts for officers: a short beep made with WebAudio (no sound file), and a
// live WebSocket to ws/cases/ that reconnects by itself.
//
// Browsers start audio only after a click or key on the page: until then
// `sound.enabled` is false and the console shows a button to turn sound on.

import { tf } from "../review/i18n.js";

export class Beeper {
  constructor() {
    this.ctx = null;
    this.enabled = false;
    this.played = 0;
  }

  /** Call from a click or key handler: creates or resumes the audio context. */
  async enable() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return false;
    this.ctx = this.ctx || new Ctx();
    if (this.ctx.state === "suspended") await this.ctx.resume();
    this.enabled = this.ctx.state === "running";
    return this.enabled;
  }

  disable() {
    this.enabled = false;
  }

  /** `count` beeps, higher and more of them for critical cases. Returns whether sound played. */
  beep(count = 2, frequency = 880) {
    if (!this.enabled || !this.ctx || this.ctx.state !== "running") return false;
    const start = this.ctx.currentTime + 0.02;
    for (let i = 0; i < count; i += 1) {
      const osc = this.ctx.createOscillator();
      const gain = this.ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = frequency;
      const t = start + i * 0.28;
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.3, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.2);
      osc.connect(gain).connect(this.ctx.destination);
      osc.start(t);
      osc.stop(t + 0.22);
    }
    this.played += 1;
    return true;
  }
}

const OPEN_TIMEOUT_MS = 10_000;

/** A WebSocket that reconnects with backoff. onMessage(data), onState("live" | "down"). */
export class LiveSocket {
  constructor(path, { onMessage, onState }) {
    this.url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
    this.onMessage = onMessage;
    this.onState = onState;
    this.attempt = 0;
    this.closedByUs = false;
    this.connect();
  }

  connect() {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    // A browser waits for the opening handshake as long as the server keeps it open, and
    // uvicorn sets no limit (Daphne closed it after 5 s): give up and retry after 10 s.
    const opening = setTimeout(() => {
      if (ws.readyState === WebSocket.CONNECTING) ws.close();
    }, OPEN_TIMEOUT_MS);
    this.ws.addEventListener("open", () => {
      clearTimeout(opening);
      this.attempt = 0;
      this.onState("live");
    });
    this.ws.addEventListener("message", (event) => {
      try {
        this.onMessage(JSON.parse(event.data));
      } catch (error) {
        console.error("bad message on the case feed", error);
      }
    });
    this.ws.addEventListener("close", (event) => {
      clearTimeout(opening);
      this.onState(event.code === 4403 ? "refused" : "down");
      if (this.closedByUs || event.code === 4403) return;
      const delay = Math.min(30, 2 ** this.attempt) * 1000 * (0.85 + Math.random() * 0.3);
      this.attempt += 1;
      setTimeout(() => this.connect(), delay);
    });
  }

  send(data) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(data));
  }

  close() {
    this.closedByUs = true;
    this.ws.close();
  }
}

/** "12:03" or "1 h 04 min" for a number of seconds. */
export function span(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) {
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return h >= 48 ? tf("%(n)s days", { n: Math.floor(h / 24) }) : tf("%(h)s h %(m)s min", { h, m: String(m).padStart(2, "0") });
  }
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
