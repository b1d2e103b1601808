// What the reviewer actually heard of a clip: the union of the stretches the
// playhead really played through (seeks are jumps, not listening), as a share of
// the clip's length, and the speed used, weighted by the time spent listening at
// it. Sent with each submit (listened_fraction, playback_rate). Pure: no DOM,
// unit-tested with Node (tests/js/listening.test.mjs).

/** Merge [start, end] intervals: sorted, overlapping or touching ones joined. */
export function unionIntervals(intervals) {
  const sorted = intervals
    .filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b) && b > a)
    .map(([a, b]) => [a, b])
    .sort((x, y) => x[0] - y[0]);
  const out = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** Total length of the union of intervals, clipped to [0, limit]. */
export function unionLength(intervals, limit = Infinity) {
  return unionIntervals(intervals.map(([a, b]) => [Math.max(0, a), Math.min(limit, b)])).reduce(
    (sum, [a, b]) => sum + (b - a),
    0,
  );
}

// A step of the playhead counts as heard when it moved forward by no more than the
// wall-clock time since the last sample allows at the current speed, with this much slack
// (timeupdate events arrive late and in bursts); anything else is a seek.
const SLACK_SECONDS = 0.35;
// The end of a clip counts as heard when playback ran to the end (the last sample before
// "ended" may be a few ms short of the duration).
const END_SNAP_SECONDS = 0.08;

/**
 * The listening of one clip. Feed it samples of the playhead:
 * sample(mediaSeconds, {playing, rate, wallMs}); read fraction(duration) and meanRate().
 */
export class Listening {
  constructor() {
    this.intervals = [];
    this.last = null; // {t, playing, rate, wall}
    this.weighted = 0; // Σ rate × wall-clock seconds spent playing
    this.playedWall = 0; // Σ wall-clock seconds spent playing
  }

  /** jump: the playhead was moved (a seek): the step to `t` was not heard. */
  sample(t, { playing, rate = 1, wallMs, ended = false, duration = null, jump = false }) {
    if (!Number.isFinite(t)) return;
    const last = this.last;
    if (last && last.playing) {
      const wall = Math.max(0, (wallMs - last.wall) / 1000);
      const moved = t - last.t;
      if (!jump && moved >= 0 && moved <= wall * Math.max(last.rate, rate) + SLACK_SECONDS) {
        let end = t;
        if (ended && Number.isFinite(duration) && duration - end <= END_SNAP_SECONDS) end = duration;
        if (end > last.t) this.intervals.push([last.t, end]);
      }
      this.weighted += wall * last.rate;
      this.playedWall += wall;
      if (this.intervals.length > 64) this.intervals = unionIntervals(this.intervals);
    }
    this.last = { t, playing, rate, wall: wallMs };
  }

  /** The share of [0, duration] heard, 0..1, rounded to 3 places. */
  fraction(duration) {
    if (!(duration > 0)) return 0;
    const share = unionLength(this.intervals, duration) / duration;
    return Math.round(Math.min(1, Math.max(0, share)) * 1000) / 1000;
  }

  /** The speed, weighted by the time spent listening at it; `fallback` when nothing was played. */
  meanRate(fallback = 1) {
    if (!(this.playedWall > 0)) return fallback;
    return Math.round((this.weighted / this.playedWall) * 1000) / 1000;
  }
}

/** Whisper's text, submitted as it came (white space normalised): the same words, spacing aside. */
export function unchangedText(typed, machine) {
  const squash = (text) => String(text || "").trim().split(/\s+/).filter(Boolean).join(" ");
  return squash(typed) === squash(machine);
}

/** Ask before submitting: Whisper's text unchanged and less than this share heard. */
export const HEARD_ENOUGH = 0.95;
