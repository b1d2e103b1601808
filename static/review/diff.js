// Word diff of the reviewer's transcript against Whisper's, for the live
// "changes from Whisper" line. Words are compared the way the server counts
// word errors (annotate/review/metrics.py): lower case, punctuation ignored,
// so "Swift." and "swift" are the same word; the reviewer's spelling is shown.

const PUNCT = /[^\p{L}\p{N}\p{M}_\s']+/gu;
const MAX_CELLS = 4_000_000; // past this (≈ 2,000 × 2,000 words), one big replacement

/** Lower case, no punctuation, single spaces (metrics.normalise in JS). */
export function normalise(text) {
  return text.toLowerCase().replace(PUNCT, " ").split(/\s+/).filter(Boolean).join(" ");
}

/** The words of a text: {text: as typed, key: as compared}; pure punctuation is dropped. */
export function words(text) {
  return text
    .split(/\s+/)
    .filter(Boolean)
    .map((word) => ({ text: word, key: normalise(word) }))
    .filter((word) => word.key);
}

/**
 * Diff two word lists by longest common subsequence.
 * Returns hunks: {op: "equal"|"delete"|"insert"|"replace", before: [...words], after: [...words]}.
 */
export function diffWords(before, after) {
  let start = 0;
  while (start < before.length && start < after.length && before[start].key === after[start].key) start++;
  let endA = before.length;
  let endB = after.length;
  while (endA > start && endB > start && before[endA - 1].key === after[endB - 1].key) {
    endA--;
    endB--;
  }
  const steps = [];
  for (let i = 0; i < start; i++) steps.push(["equal", before[i], after[i]]);
  steps.push(...middleSteps(before.slice(start, endA), after.slice(start, endB)));
  for (let i = 0; i < before.length - endA; i++) steps.push(["equal", before[endA + i], after[endB + i]]);
  return group(steps);
}

/** Steps ["equal", a, b] / ["delete", a] / ["insert", b] turning a into b. */
function middleSteps(a, b) {
  const n = a.length;
  const m = b.length;
  if (!n || !m || n * m > MAX_CELLS) {
    return [...a.map((w) => ["delete", w]), ...b.map((w) => ["insert", w])];
  }
  // table[i * width + j] = length of the LCS of a[i:] and b[j:]
  const width = m + 1;
  const table = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i * width + j] =
        a[i].key === b[j].key
          ? table[(i + 1) * width + j + 1] + 1
          : Math.max(table[(i + 1) * width + j], table[i * width + j + 1]);
    }
  }
  const steps = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i].key === b[j].key) {
      steps.push(["equal", a[i++], b[j++]]);
    } else if (j >= m || (i < n && table[(i + 1) * width + j] >= table[i * width + j + 1])) {
      steps.push(["delete", a[i++]]);
    } else {
      steps.push(["insert", b[j++]]);
    }
  }
  return steps;
}

/** Runs of steps as hunks; a run of deletions and insertions together is a replacement. */
function group(steps) {
  const hunks = [];
  let pending = null;
  const flush = () => {
    if (!pending) return;
    const { before, after } = pending;
    const op = before.length && after.length ? "replace" : before.length ? "delete" : "insert";
    hunks.push({ op, before, after });
    pending = null;
  };
  for (const [op, word, other] of steps) {
    if (op === "equal") {
      flush();
      const last = hunks[hunks.length - 1];
      if (last && last.op === "equal") {
        last.before.push(word);
        last.after.push(other);
      } else {
        hunks.push({ op: "equal", before: [word], after: [other] });
      }
    } else {
      pending = pending || { before: [], after: [] };
      (op === "delete" ? pending.before : pending.after).push(word);
    }
  }
  flush();
  return hunks;
}

/** Substitutions, deletions, insertions, and Whisper's word error rate against the reviewer. */
export function summarise(hunks) {
  let substitutions = 0;
  let deletions = 0;
  let insertions = 0;
  let reference = 0;
  for (const { op, before, after } of hunks) {
    reference += after.length;
    if (op === "equal") continue;
    const paired = Math.min(before.length, after.length);
    substitutions += paired;
    // The reviewer's text is the reference: words only Whisper has are Whisper's
    // insertions; words only the reviewer has are words Whisper deleted (missed).
    insertions += before.length - paired;
    deletions += after.length - paired;
  }
  const errors = substitutions + deletions + insertions;
  return { substitutions, deletions, insertions, errors, words: reference, wer: reference ? errors / reference : null };
}

/**
 * Render hunks into `container`: unchanged words as text, Whisper's words the
 * reviewer removed as <del>, the reviewer's new words as <ins>.
 */
export function renderDiff(container, hunks) {
  const fragment = document.createDocumentFragment();
  const space = () => fragment.append(" ");
  hunks.forEach((hunk, index) => {
    if (index) space();
    if (hunk.op === "equal") {
      fragment.append(hunk.after.map((w) => w.text).join(" "));
      return;
    }
    const group = document.createElement("span");
    group.className = `hunk ${hunk.op}`;
    if (hunk.before.length) {
      const del = document.createElement("del");
      del.textContent = hunk.before.map((w) => w.text).join(" ");
      group.append(del);
    }
    if (hunk.before.length && hunk.after.length) group.append(" ");
    if (hunk.after.length) {
      const ins = document.createElement("ins");
      ins.textContent = hunk.after.map((w) => w.text).join(" ");
      group.append(ins);
    }
    fragment.append(group);
  });
  container.replaceChildren(fragment);
}
