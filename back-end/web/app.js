"use strict";

// The upload page: token, the server's speech-to-text options, uploads, live job rows over Server-Sent Events.
// No dependencies.

const TOKEN_KEY = "access_token";

let sttOptions = null; // GET /api/stt once a token is set: {model, english_only, languages, translation, vad}

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

  const kind = options.english_only ? "English only" : "multilingual";
  document.getElementById("stt-state").textContent = `Model: ${options.model} (${kind})`;
}

function uploadChoices() {
  const translate = document.getElementById("translate");
  return {
    priority: document.getElementById("priority").value,
    wordTimestamps: document.getElementById("word-timestamps").checked,
    language: document.getElementById("language").value,
    task: translate.checked && !translate.disabled ? "translate" : "transcribe",
    // Until the server's options are known, its STT_VAD decides: the box may not show it yet.
    vad: sttOptions ? document.getElementById("vad").checked : null,
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
    this.transcript.textContent = text || "(no speech found)";
    this.transcript.hidden = false;
    this.downloads.replaceChildren(el("span", {}, "Download: "));
    for (const format of ["txt", "srt", "vtt"]) {
      const link = el("a", {
        href: `/api/jobs/${encodeURIComponent(this.jobId)}/transcript?format=${format}`,
        download: `${this.file.name.replace(/\.[^.]*$/, "")}.${format}`,
        "data-testid": `download-${format}`,
      }, format.toUpperCase());
      this.downloads.append(link, " ");
    }
    this.downloads.hidden = false;
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
