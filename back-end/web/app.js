"use strict";

// The upload page: token, the server's speech-to-text options, uploads, live job rows over Server-Sent Events,
// and a diarized result as speaker turns whose speakers the person may rename (on this page only). No dependencies.

const TOKEN_KEY = "access_token";

// GET /api/stt once a token is set: {model, english_only, languages, translation, vad, diarization}
let sttOptions = null;

window.progressLatencies = []; // seconds from the worker emitting a progress event to this page receiving it

// ---- token -----------------------------------------------------------------------------------------------

function currentToken() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

function applyToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
  // EventSource and download links cannot send headers: they authenticate with this cookie.
  document.cookie = `access_token=${encodeURIComponent(token)}; path=/; SameSite=Strict`;
  document.getElementById("token-state").textContent = "token set";
  loadSttOptions();
}

function setUpToken() {
  const form = document.getElementById("token-form");
  const input = document.getElementById("token");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    applyToken(token);
    input.value = "";
  });
  if (currentToken()) applyToken(currentToken());
}

function authHeaders() {
  return { Authorization: `Bearer ${currentToken()}` };
}

// ---- helpers ---------------------------------------------------------------------------------------------

function el(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) return body.error.message;
  } catch (_) {
    // not JSON: fall through
  }
  return `Request failed (HTTP ${response.status}).`;
}

function queuedText(body) {
  const parts = [];
  if (body.position !== null && body.position !== undefined) parts.push(`position ${body.position}`);
  if (body.estimated_wait_s !== null && body.estimated_wait_s !== undefined) {
    parts.push(`~${Math.round(body.estimated_wait_s)}s`);
  }
  return parts.length ? `queued (${parts.join(", ")})` : "queued";
}

function capitalised(text) {
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : text;
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (_) {
    // no clipboard API here (or no permission): the older way, through a selection
    const area = el("textarea", { class: "visually-hidden", readonly: "" });
    area.value = text;
    document.body.append(area);
    area.select();
    const copied = document.execCommand("copy");
    area.remove();
    return copied;
  }
}

function saveFile(text, type, filename) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = el("a", { href: url, download: filename, hidden: "" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// ---- speakers (a diarized result) ------------------------------------------------------------------------

// One colour per speaker, in the order they first speak; each readable on the transcript's background (contrast
// of at least 4.5:1). The eleventh speaker takes the first colour again.
const SPEAKER_COLORS = [
  "#0969da", "#bf3989", "#1a7f37", "#bc4c00", "#8250df", "#0a7b83", "#9a6700", "#cf222e", "#4d5ba8", "#6e5a4a",
];
const MAX_NAME_LENGTH = 60;

function oneLine(text) {
  // As the server writes a name or a cue: no line breaks, no "-->" (either would break an SRT or WebVTT cue).
  return text.replace(/-->/g, "->").split(/\s+/).filter(Boolean).join(" ");
}

// The turns of a result (consecutive segments with words, of one speaker), grouped as the server's plain text
// groups them; null when no segment has a speaker, that is, the result was not diarized.
function speakerTurns(result) {
  const segments = (result && result.segments) || [];
  if (!segments.some((segment) => segment.speaker)) return null;
  const turns = [];
  for (const segment of segments) {
    const text = (segment.text || "").split(/\s+/).filter(Boolean).join(" ");
    if (!text) continue;
    const speaker = segment.speaker || null;
    const last = turns[turns.length - 1];
    if (last && last.speaker === speaker) last.text += ` ${text}`;
    else turns.push({ speaker, text });
  }
  return turns;
}

function speakerOrder(result, turns) {
  const order = Array.isArray(result.speakers) ? [...result.speakers] : [];
  for (const turn of turns) if (turn.speaker && !order.includes(turn.speaker)) order.push(turn.speaker);
  return order;
}

function regExpEscaped(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function vttEscaped(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

// The server's transcript in `format` with the speakers in `names` (label -> name) renamed, only where the format
// names a speaker: a WebVTT voice tag, an SRT cue's first words, a plain-text paragraph's first words.
function renamedTranscript(text, format, names) {
  const labels = Object.keys(names);
  if (!labels.length) return text;
  const label = `(${labels.map(regExpEscaped).join("|")})`;
  if (format === "vtt") {
    return text.replace(new RegExp(`<v ${label}>`, "g"), (_, l) => `<v ${vttEscaped(oneLine(names[l]))}>`);
  }
  const start = format === "srt" ? "(--> \\d\\d:\\d\\d:\\d\\d,\\d{3}\\n)" : "(^|\\n\\n)";
  return text.replace(new RegExp(`${start}${label}: `, "g"), (_, before, l) => `${before}${oneLine(names[l])}: `);
}

// ---- the server's speech-to-text options -----------------------------------------------------------------

function languageName(code) {
  const known = sttOptions && sttOptions.languages.find((language) => language.code === code);
  return known ? capitalised(known.name) : code;
}

async function loadSttOptions() {
  const state = document.getElementById("stt-state");
  let response;
  try {
    response = await fetch("/api/stt", { headers: authHeaders() });
  } catch (_) {
    state.textContent = "Could not reach the server for its languages.";
    return;
  }
  if (!response.ok) {
    state.textContent = await errorMessage(response);
    return;
  }
  showSttOptions(await response.json());
}

function showSttOptions(options) {
  sttOptions = options;
  const select = document.getElementById("language");
  const chosen = select.value;
  const choices = options.languages.map((language) =>
    el("option", { value: language.code }, capitalised(language.name)),
  );
  select.replaceChildren(el("option", { value: "" }, "Detect automatically"), ...choices);
  select.value = options.languages.some((language) => language.code === chosen) ? chosen : "";

  const translate = document.getElementById("translate");
  document.getElementById("translate-option").hidden = !options.translation;
  translate.disabled = !options.translation;
  if (!options.translation) translate.checked = false;
  document.getElementById("vad").checked = options.vad;

  const diarize = document.getElementById("diarize");
  const diarization = options.diarization === true; // a server from before diarization does not say
  diarize.disabled = !diarization;
  if (!diarization) diarize.checked = false;
  document.getElementById("diarize-option").title = diarization
    ? "Label who speaks when (SPEAKER_1, SPEAKER_2, …); you can rename them once it is done"
    : "This server cannot tell speakers apart";
  showSpeakerCounts();

  const kind = options.english_only ? "English only" : "multilingual";
  document.getElementById("stt-state").textContent = `Model: ${options.model} (${kind})`;
}

function showSpeakerCounts() {
  const diarize = document.getElementById("diarize");
  document.getElementById("speaker-counts").hidden = !diarize.checked || diarize.disabled;
}

function setUpSpeakerOptions() {
  document.getElementById("diarize").addEventListener("change", showSpeakerCounts);
}

function uploadChoices() {
  const translate = document.getElementById("translate");
  const diarize = document.getElementById("diarize");
  return {
    priority: document.getElementById("priority").value,
    wordTimestamps: document.getElementById("word-timestamps").checked,
    language: document.getElementById("language").value,
    task: translate.checked && !translate.disabled ? "translate" : "transcribe",
    // Until the server's options are known, its STT_VAD decides: the box may not show it yet.
    vad: sttOptions ? document.getElementById("vad").checked : null,
    diarize: diarize.checked && !diarize.disabled,
    minSpeakers: document.getElementById("min-speakers").value.trim(), // "" (any) unless a number was typed
    maxSpeakers: document.getElementById("max-speakers").value.trim(),
  };
}

// ---- one job row -----------------------------------------------------------------------------------------

class JobRow {
  constructor(file) {
    this.file = file;
    this.jobId = null;
    this.source = null;
    this.upload = new AbortController();
    this.finished = false;
    this.reopenAttempts = 0;
    this.turns = null; // a diarized result's turns, once it has come
    this.names = {}; // speaker label -> the name given on this page

    this.row = el("li", { class: "job", "data-testid": "job-row", "data-state": "uploading" });
    const head = el("div", { class: "job-head" });
    head.append(el("span", { class: "job-name" }, file.name));
    this.cancelButton = el("button", { type: "button", "data-testid": "job-cancel" }, "Cancel");
    this.cancelButton.setAttribute("aria-label", `Cancel ${file.name}`);
    this.cancelButton.addEventListener("click", () => this.cancel());
    head.append(this.cancelButton);

    this.bar = el("progress", { max: "100", value: "0", "data-testid": "job-progress" });
    this.bar.setAttribute("aria-label", `Progress of ${file.name}`);
    this.status = el("p", { class: "job-status", "data-testid": "job-status", "aria-live": "polite" }, "uploading…");
    this.meta = el("p", { class: "job-meta", hidden: "" });
    this.transcript = el("p", { class: "job-transcript", "data-testid": "job-transcript", hidden: "" });
    this.downloads = el("p", { class: "job-downloads", hidden: "" });

    this.row.append(head, this.bar, this.status, this.meta, this.transcript, this.downloads);
  }

  setState(state, text) {
    this.row.dataset.state = state;
    if (text !== undefined) this.status.textContent = text;
  }

  setProgress(value) {
    if (typeof value === "number") this.bar.value = Math.max(0, Math.min(100, value));
  }

  fail(message) {
    // A refused upload never had a job: no bar, just the reason.
    this.finish();
    this.bar.hidden = true;
    this.setState("error", message);
  }

  async start(choices) {
    if (!currentToken()) {
      this.fail("Set an access token first.");
      return;
    }
    this.choices = choices;
    const form = new FormData();
    form.append("file", this.file);
    form.append("priority", choices.priority);
    form.append("word_timestamps", choices.wordTimestamps ? "true" : "false");
    form.append("task", choices.task);
    if (choices.language) form.append("language", choices.language);
    if (choices.vad !== null) form.append("vad", choices.vad ? "true" : "false");
    if (choices.diarize) {
      form.append("diarize", "true");
      if (choices.minSpeakers) form.append("min_speakers", choices.minSpeakers);
      if (choices.maxSpeakers) form.append("max_speakers", choices.maxSpeakers);
    }
    let response;
    try {
      response = await fetch("/api/audio", {
        method: "POST",
        headers: authHeaders(),
        body: form,
        signal: this.upload.signal,
      });
    } catch (error) {
      if (error.name === "AbortError") {
        this.finish();
        this.bar.hidden = true;
        this.setState("canceled", "canceled");
      } else {
        this.fail("The upload failed: the server could not be reached.");
      }
      return;
    }
    if (response.status !== 202) {
      this.fail(await errorMessage(response));
      return;
    }
    const accepted = await response.json();
    this.jobId = accepted.job_id;
    this.row.dataset.jobId = accepted.job_id;
    this.setState("queued", queuedText(accepted));
    this.listen();
  }

  listen() {
    const source = new EventSource(`/api/jobs/${encodeURIComponent(this.jobId)}/events`);
    this.source = source;
    const on = (type, handler) =>
      source.addEventListener(type, (event) => {
        this.reopenAttempts = 0;
        handler(JSON.parse(event.data));
      });
    on("status", (body) => this.showStatus(body));
    on("progress", (data) => this.showProgress(data));
    on("completed", (body) => this.showCompleted(body));
    on("failed", (body) => this.showFailed(body));
    on("canceled", (body) => this.showCanceled(body));
    source.onerror = () => {
      // While CONNECTING, EventSource reconnects by itself and sends Last-Event-ID. CLOSED means it gave up
      // (the server refused the stream): open a fresh one a few times before telling the person.
      if (this.finished || source.readyState !== EventSource.CLOSED) return;
      if (this.reopenAttempts >= 5) {
        this.setState("disconnected", "Lost the connection to the server; reload the page to follow this job.");
        return;
      }
      this.reopenAttempts += 1;
      setTimeout(() => this.finished || this.listen(), 2000 * this.reopenAttempts);
    };
  }

  showStatus(body) {
    switch (body.status) {
      case "completed":
        return this.showCompleted(body);
      case "failed":
        return this.showFailed(body);
      case "canceled":
        return this.showCanceled(body);
      case "queued":
        this.setProgress(body.progress);
        return this.setState("queued", queuedText(body));
      default: {
        this.setProgress(body.progress);
        const step = body.current_step || "started";
        return this.setState(body.status, `${step} (${body.progress || 0}%)`);
      }
    }
  }

  showProgress(data) {
    if (typeof data.at === "number") window.progressLatencies.push(Date.now() / 1000 - data.at);
    if (this.finished) return;
    this.setProgress(data.progress);
    const step = data.current_step || "working";
    this.setState("started", `${step} (${data.progress}%)`);
  }

  showCompleted(body) {
    this.finish();
    this.setProgress(100);
    this.setState("completed", "completed");
    const text = body.result && body.result.text ? body.result.text.trim() : "";
    if (body.result) this.showMeta(body.result);
    const turns = body.result ? speakerTurns(body.result) : null;
    if (turns && turns.length) this.showTurns(body.result, turns);
    else this.transcript.textContent = text || "(no speech found)";
    this.transcript.hidden = false;
    this.downloads.replaceChildren(el("span", {}, "Download: "));
    for (const format of ["txt", "srt", "vtt"]) {
      const link = el("a", {
        href: `/api/jobs/${encodeURIComponent(this.jobId)}/transcript?format=${format}`,
        download: `${this.file.name.replace(/\.[^.]*$/, "")}.${format}`,
        "data-testid": `download-${format}`,
      }, format.toUpperCase());
      if (this.turns) link.addEventListener("click", (event) => this.downloadRenamed(event, format));
      this.downloads.append(link, " ");
    }
    if (this.turns) this.downloads.append(this.copyButton());
    this.downloads.hidden = false;
  }

  // ---- a diarized result: turns, speakers to rename (on this page only), copies and downloads with the names

  showTurns(result, turns) {
    this.turns = turns;
    const order = speakerOrder(result, turns);
    const view = el("div", { class: "job-transcript job-turns", "data-testid": "job-transcript" });
    for (const turn of turns) {
      const paragraph = el("p", { class: "turn", "data-testid": "job-turn" });
      if (turn.speaker) {
        paragraph.dataset.speaker = turn.speaker;
        const color = SPEAKER_COLORS[order.indexOf(turn.speaker) % SPEAKER_COLORS.length];
        paragraph.style.setProperty("--speaker-color", color);
        paragraph.append(this.speakerLabel(turn.speaker), ": ");
      }
      paragraph.append(el("span", { class: "turn-text" }, turn.text));
      view.append(paragraph);
    }
    this.transcript.replaceWith(view);
    this.transcript = view;
  }

  nameOf(speaker) {
    return this.names[speaker] || speaker;
  }

  speakerLabel(speaker) {
    const attributes = { type: "button", class: "speaker", "data-testid": "speaker-label" };
    const label = el("button", attributes, this.nameOf(speaker));
    label.dataset.speaker = speaker;
    label.title = "Rename this speaker";
    label.addEventListener("click", () => this.editName(label));
    return label;
  }

  editName(label) {
    const speaker = label.dataset.speaker;
    const input = el("input", {
      type: "text",
      class: "speaker-name",
      "data-testid": "speaker-input",
      maxlength: String(MAX_NAME_LENGTH),
      "aria-label": `Name for ${speaker}`,
    });
    input.value = this.nameOf(speaker);
    let done = false;
    const finish = (save, refocus) => {
      if (done) return; // removing the focused input blurs it: once is enough
      done = true;
      if (save) this.rename(speaker, input.value);
      label.textContent = this.nameOf(speaker);
      input.replaceWith(label);
      if (refocus) label.focus();
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === "Escape") {
        event.preventDefault();
        finish(event.key === "Enter", true);
      }
    });
    input.addEventListener("blur", () => finish(true, false));
    label.replaceWith(input);
    input.focus();
    input.select();
  }

  rename(speaker, value) {
    // An empty name gives the speaker its label back.
    const name = oneLine(value).slice(0, MAX_NAME_LENGTH);
    if (name && name !== speaker) this.names[speaker] = name;
    else delete this.names[speaker];
    for (const label of this.transcript.querySelectorAll(".speaker")) {
      if (label.dataset.speaker === speaker) label.textContent = this.nameOf(speaker);
    }
  }

  speakerText() {
    // The server's plain text, with the names given here: one "name: text" paragraph per turn.
    const paragraphs = this.turns.map((turn) =>
      turn.speaker ? `${oneLine(this.nameOf(turn.speaker))}: ${turn.text}` : turn.text,
    );
    return `${paragraphs.join("\n\n")}\n`;
  }

  copyButton() {
    const button = el("button", { type: "button", class: "copy", "data-testid": "copy-transcript" }, "Copy text");
    button.addEventListener("click", async () => {
      const copied = await copyText(this.speakerText());
      button.textContent = copied ? "Copied" : "Could not copy";
      setTimeout(() => {
        button.textContent = "Copy text";
      }, 1500);
    });
    return button;
  }

  async downloadRenamed(event, format) {
    // Nothing renamed: the link downloads the server's file as it is. Else the page fetches it, renames, saves.
    if (!Object.keys(this.names).length) return;
    event.preventDefault();
    const link = event.currentTarget;
    let response;
    try {
      response = await fetch(link.getAttribute("href"), { headers: authHeaders() });
    } catch (_) {
      this.status.textContent = "Could not reach the server for the download.";
      return;
    }
    if (!response.ok) {
      this.status.textContent = await errorMessage(response);
      return;
    }
    const text = renamedTranscript(await response.text(), format, this.names);
    saveFile(text, response.headers.get("content-type") || "text/plain", link.getAttribute("download"));
  }

  showMeta(result) {
    // The language: detected (with how sure), as given with the upload, or the only one an English-only model knows.
    const name = languageName(result.language);
    let language;
    if (typeof result.language_probability === "number") {
      language = `${name} (detected, ${Math.round(result.language_probability * 100)}%)`;
    } else if (this.choices.language) {
      language = `${name} (as given)`;
    } else {
      language = `${name} (the model's only language)`;
    }
    if (result.engine && result.engine.task === "translate") language += ", translated to English";
    const parts = [el("span", { "data-testid": "job-language" }, `Language: ${language}`)];
    if (result.model) parts.push(" · ", el("span", { "data-testid": "job-model" }, `Model: ${result.model}`));
    if (Array.isArray(result.speakers)) {
      const count = `Speakers: ${result.speakers.length}`;
      parts.push(" · ", el("span", { "data-testid": "job-speakers" }, `${count} (click a name to rename)`));
    }
    this.meta.replaceChildren(...parts);
    this.meta.hidden = false;
  }

  showFailed(body) {
    this.finish();
    const message = body.error && body.error.message ? body.error.message : "The transcription failed.";
    this.setState("failed", `failed: ${message}`);
  }

  showCanceled() {
    this.finish();
    this.setState("canceled", "canceled");
  }

  finish() {
    this.finished = true;
    this.cancelButton.hidden = true;
    if (this.source) this.source.close(); // else EventSource would reconnect after the server closes the stream
  }

  async cancel() {
    if (!this.jobId) {
      this.upload.abort();
      return;
    }
    this.cancelButton.disabled = true;
    try {
      const response = await fetch(`/api/jobs/${encodeURIComponent(this.jobId)}/cancel`, {
        method: "DELETE",
        headers: authHeaders(),
      });
      if (response.ok) {
        this.showStatus(await response.json());
      } else if (!this.finished) {
        // 409 job_finished: the terminal event is on its way over the stream.
        this.status.textContent = await errorMessage(response);
      }
    } catch (_) {
      this.status.textContent = "Could not reach the server to cancel.";
    } finally {
      this.cancelButton.disabled = false;
    }
  }
}

// ---- files -----------------------------------------------------------------------------------------------

function uploadFiles(files) {
  const choices = uploadChoices();
  const list = document.getElementById("jobs");
  for (const file of files) {
    const job = new JobRow(file);
    list.append(job.row);
    job.start(choices);
  }
}

function setUpFiles() {
  const input = document.getElementById("files");
  input.addEventListener("change", () => {
    uploadFiles(Array.from(input.files));
    input.value = ""; // so that choosing the same file again uploads it again
  });

  // A file dropped beside the zone would make the browser open it in place of this page.
  for (const type of ["dragover", "drop"]) window.addEventListener(type, (event) => event.preventDefault());

  const zone = document.getElementById("drop-zone");
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", (event) => {
    if (!zone.contains(event.relatedTarget)) zone.classList.remove("dragging");
  });
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    uploadFiles(Array.from(event.dataTransfer.files));
  });
}

setUpToken();
setUpFiles();
setUpSpeakerOptions();
