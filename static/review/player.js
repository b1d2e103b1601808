// The clip player: a wavesurfer.js waveform drawn from the stored peaks,
// playing an <audio> element whose source is the clip fetched as a Blob.
//
// Audio URLs are signed for a few minutes and answer `no-store`, so each clip's
// audio is fetched once, as soon as the clip is known (the clip under review and
// the prefetched next one), into an object URL and an <audio> element that has
// buffered it by the time the clip is shown. Showing a clip swaps that element
// into the one waveform: no network, no decoding.
//
// The loop (Alt+G) is a region of wavesurfer's Regions plugin around the playhead
// (LOOP_SECONDS either side): shown on the waveform, draggable and resizable, and
// played round and round until it is turned off or another clip is shown.

import WaveSurfer from "wavesurfer";
import RegionsPlugin from "wavesurfer/plugins/regions";

export const SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 1.75, 2];
export const REPLAY_SECONDS = 2;
export const LOOP_SECONDS = 2;
const VOLUME_STEP = 0.1;

export class AudioLoadError extends Error {
  constructor(message, status = 0) {
    super(message);
    this.name = "AudioLoadError";
    this.status = status;
  }
}

/** One clip's audio, held in memory: an object URL and a buffered <audio> element. */
export class ClipAudio {
  constructor(objectUrl, media) {
    this.url = objectUrl;
    this.media = media;
  }

  /** Fetch the signed URL right away and buffer it. Rejects with AudioLoadError. */
  static async fetch(audioUrl, { signal } = {}) {
    let response;
    try {
      response = await fetch(audioUrl, { credentials: "same-origin", cache: "no-store", signal });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new AudioLoadError("the audio could not be fetched (network)");
    }
    if (!response.ok) throw new AudioLoadError(`the audio could not be fetched (${response.status})`, response.status);
    const blob = await response.blob();
    const objectUrl = URL.createObjectURL(blob);
    const media = new Audio();
    media.preload = "auto";
    media.preservesPitch = true;
    media.src = objectUrl;
    try {
      await whenPlayable(media, signal);
    } catch (error) {
      URL.revokeObjectURL(objectUrl);
      throw error;
    }
    return new ClipAudio(objectUrl, media);
  }

  get ready() {
    return this.media.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA && this.media.duration > 0;
  }

  /** Stop, drop the buffered audio and revoke the object URL. */
  release() {
    this.media.pause();
    this.media.removeAttribute("src");
    this.media.load();
    URL.revokeObjectURL(this.url);
  }
}

function whenPlayable(media, signal) {
  if (media.readyState >= HTMLMediaElement.HAVE_ENOUGH_DATA) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (fn, arg) => {
      media.removeEventListener("canplaythrough", onReady);
      media.removeEventListener("error", onError);
      signal?.removeEventListener("abort", onAbort);
      fn(arg);
    };
    const onReady = () => done(resolve);
    const onError = () => done(reject, new AudioLoadError("the audio could not be decoded"));
    const onAbort = () => done(reject, new DOMException("aborted", "AbortError"));
    media.addEventListener("canplaythrough", onReady);
    media.addEventListener("error", onError);
    signal?.addEventListener("abort", onAbort);
    media.load();
  });
}

const WAVEFORM = {
  height: 88,
  waveColor: "#9aa9c2",
  progressColor: "#2458c6",
  cursorColor: "#1d232a",
  cursorWidth: 2,
  barWidth: 2,
  barGap: 1,
  barRadius: 2,
  normalize: true,
  dragToSeek: true,
};

/**
 * The stored peaks (50 a second) stretched to `count` values by linear
 * interpolation, so a 3-second clip fills the waveform's bars as densely as a
 * long one instead of leaving gaps between them.
 */
export function resample(peaks, count) {
  if (peaks.length < 2 || count <= peaks.length) return peaks;
  const scale = (peaks.length - 1) / (count - 1);
  const out = new Array(count);
  for (let i = 0; i < count; i++) {
    const x = i * scale;
    const j = Math.floor(x);
    const next = peaks[Math.min(j + 1, peaks.length - 1)];
    out[i] = peaks[j] + (next - peaks[j]) * (x - j);
  }
  return out;
}

/** The stretch LOOP_SECONDS either side of `time`, within [0, duration]. */
export function loopAround(time, duration, seconds = LOOP_SECONDS) {
  const end = Math.min(duration, Math.max(0, time) + seconds);
  const start = Math.max(0, Math.min(time, duration) - seconds);
  return { start, end: Math.max(end, Math.min(duration, start + 0.2)) };
}

/**
 * The waveform and transport. Emits through callbacks:
 * onTime(seconds), onPlayState(playing), onSettings({speed, volume}),
 * onSample({time, playing, rate, ended, jump}) for the listening record (listening.js),
 * onLoop(loop | null) when the loop is turned on or off.
 */
export class Player {
  constructor(
    container,
    { onTime = () => {}, onPlayState = () => {}, onSettings = () => {}, onSample = () => {}, onLoop = () => {} } = {},
  ) {
    this.container = container;
    this.onTime = onTime;
    this.onPlayState = onPlayState;
    this.onSettings = onSettings;
    this.onSample = onSample;
    this.onLoop = onLoop;
    this.wavesurfer = null;
    this.regions = null;
    this.loop = null; // {start, end, region}
    this.audio = null;
    this.speed = clampSpeed(Number(localStorage.getItem("annotate.review.speed")) || 1);
    const volume = Number(localStorage.getItem("annotate.review.volume"));
    this.volume = Number.isFinite(volume) && localStorage.getItem("annotate.review.volume") !== null ? volume : 1;
  }

  /** Make `audio` the clip's audio: the previous one stopped, the loop off, from the start. */
  take(audio) {
    if (this.audio === audio) return;
    this.stop();
    this.clearLoop();
    this.audio = audio;
    this.watch(audio.media);
    if (audio.media.currentTime !== 0) audio.media.currentTime = 0; // a seek holds up the start: only if needed
  }

  /** The speed, volume and pitch setting on a media element, each only if it differs (each may reset its pipeline). */
  tune(media) {
    if (media.preservesPitch !== true) media.preservesPitch = true;
    if (media.playbackRate !== this.speed) media.playbackRate = this.speed;
    if (media.volume !== this.volume) media.volume = this.volume;
  }

  /**
   * Start a buffered clip playing at once, before the waveform is drawn (show() then binds
   * the waveform to it): the next clip is heard in the frame it is shown.
   */
  prime(audio) {
    this.take(audio);
    const media = audio.media;
    this.tune(media);
    return media.play().catch(() => {});
  }

  /** Show a clip with its buffered audio; resolves once it is playable. */
  async show(clip, audio) {
    this.take(audio);
    const media = audio.media;
    this.tune(media);
    const duration = clip.duration || media.duration;
    const peaks = clip.peaks && clip.peaks.length ? [resample(clip.peaks, this.barSlots())] : undefined;
    if (!this.wavesurfer) {
      // Peaks and duration given: wavesurfer draws them and never fetches or decodes the audio.
      // The page's CSP lets in no inline style: wavesurfer's shadow-DOM <style> carries the
      // page's nonce, read from the import map (the one element the server gave it to).
      const cspNonce = document.querySelector("script[nonce]")?.nonce || undefined;
      this.wavesurfer = WaveSurfer.create({ ...WAVEFORM, container: this.container, media, peaks, duration, cspNonce });
      this.regions = this.wavesurfer.registerPlugin(RegionsPlugin.create());
      this.regions.on("region-updated", (region) => {
        if (this.loop && this.loop.region === region) {
          this.loop.start = region.start;
          this.loop.end = region.end;
          this.onLoop(this.loopState);
        }
      });
      this.wavesurfer.on("timeupdate", (t) => {
        this.onTime(t);
        this.keepInLoop(t);
        this.sample();
      });
      this.wavesurfer.on("play", () => this.onPlayState(true));
      this.wavesurfer.on("pause", () => this.onPlayState(false));
      this.wavesurfer.on("finish", () => this.onPlayState(false));
      await new Promise((resolve, reject) => {
        this.wavesurfer.once("ready", resolve);
        this.wavesurfer.once("error", reject);
      });
    } else {
      this.wavesurfer.setMediaElement(media);
      await this.wavesurfer.load(audio.url, peaks, duration);
    }
    this.onTime(media.currentTime);
    this.onPlayState(!media.paused);
    // Primed: it started before the waveform was bound to it, which then missed its "play".
    if (!media.paused) media.dispatchEvent(new Event("play"));
  }

  /** Listen to a clip's media element once: every step of the playhead is a listening sample. */
  watch(media) {
    if (media.dataset && media.dataset.watched) return;
    if (media.dataset) media.dataset.watched = "1";
    const sample = (extra) => () => {
      if (this.audio && this.audio.media === media) this.sample(extra);
    };
    media.addEventListener("timeupdate", sample());
    media.addEventListener("playing", sample());
    media.addEventListener("pause", sample());
    media.addEventListener("ratechange", sample());
    media.addEventListener("ended", sample({ ended: true }));
    media.addEventListener("ended", () => {
      if (this.loop && this.audio && this.audio.media === media) {
        this.seek(this.loop.start);
        this.play();
      }
    });
  }

  sample({ ended = false, jump = false } = {}) {
    if (!this.audio) return;
    const media = this.audio.media;
    this.onSample({
      time: media.currentTime,
      playing: !media.paused && !ended,
      rate: media.playbackRate,
      ended,
      jump,
      duration: media.duration,
    });
  }

  /** While looping, the playhead goes back to the loop's start at its end. */
  keepInLoop(t) {
    if (!this.loop || !this.playing) return;
    if (t >= this.loop.end - 0.005 || t < this.loop.start - 0.25) this.seek(this.loop.start);
  }

  get loopState() {
    return this.loop ? { start: this.loop.start, end: this.loop.end } : null;
  }

  /** Loop the stretch around the playhead (on), or stop looping (off). Returns the loop or null. */
  toggleLoop() {
    if (!this.audio || !this.wavesurfer) return null;
    if (this.loop) {
      this.clearLoop();
      return null;
    }
    const duration = this.duration || this.wavesurfer.getDuration();
    const { start, end } = loopAround(this.currentTime, duration);
    const region = this.regions.addRegion({ start, end, color: "rgba(36, 88, 198, 0.16)", drag: true, resize: true });
    this.loop = { start, end, region };
    this.seek(start);
    this.play();
    this.onLoop(this.loopState);
    return this.loopState;
  }

  clearLoop() {
    if (!this.loop) return;
    const { region } = this.loop;
    this.loop = null;
    try {
      region.remove();
    } catch {
      // the region went with the clip
    }
    this.onLoop(null);
  }

  /** How many bars fit across the waveform (one value per bar). */
  barSlots() {
    const width = this.container.clientWidth || 1000;
    return Math.ceil(width / (WAVEFORM.barWidth + WAVEFORM.barGap));
  }

  get ready() {
    return Boolean(this.audio && this.audio.ready && this.wavesurfer && this.wavesurfer.getDuration() > 0);
  }

  get playing() {
    return Boolean(this.audio && !this.audio.media.paused);
  }

  get currentTime() {
    return this.audio ? this.audio.media.currentTime : 0;
  }

  get duration() {
    return this.audio ? this.audio.media.duration || 0 : 0;
  }

  playPause() {
    if (!this.audio) return;
    if (this.audio.media.paused) this.play();
    else this.audio.media.pause();
  }

  play() {
    if (!this.audio) return Promise.resolve();
    // Autoplay before the first key press is refused by the browser: ignore.
    return this.audio.media.play().catch(() => {});
  }

  stop() {
    if (this.audio) this.audio.media.pause();
  }

  seek(seconds) {
    if (!this.audio) return;
    const media = this.audio.media;
    this.sample(); // what played up to here was heard
    media.currentTime = Math.max(0, Math.min(seconds, media.duration || seconds));
    this.sample({ jump: true }); // the jump was not
    this.onTime(media.currentTime);
  }

  /** Go back REPLAY_SECONDS from where the playhead is (or from the end) and play. */
  replay() {
    if (!this.audio) return;
    this.seek(this.currentTime - REPLAY_SECONDS);
    this.play();
  }

  setSpeed(speed) {
    this.speed = clampSpeed(speed);
    localStorage.setItem("annotate.review.speed", String(this.speed));
    if (this.audio) {
      this.audio.media.preservesPitch = true;
      this.audio.media.playbackRate = this.speed;
    }
    this.onSettings(this.settings);
  }

  stepSpeed(direction) {
    const index = SPEEDS.indexOf(this.speed);
    this.setSpeed(SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, index + direction))]);
  }

  setVolume(volume) {
    this.volume = Math.round(Math.max(0, Math.min(1, volume)) * 100) / 100;
    localStorage.setItem("annotate.review.volume", String(this.volume));
    if (this.audio) this.audio.media.volume = this.volume;
    this.onSettings(this.settings);
  }

  stepVolume(direction) {
    this.setVolume(this.volume + direction * VOLUME_STEP);
  }

  get settings() {
    return { speed: this.speed, volume: this.volume };
  }
}

function clampSpeed(speed) {
  return SPEEDS.reduce((best, s) => (Math.abs(s - speed) < Math.abs(best - speed) ? s : best), 1);
}
