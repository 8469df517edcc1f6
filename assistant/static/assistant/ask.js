// The Ask OptiQ page: the user's threads on the left, the open conversation on the right.
// It talks to the threads API with the session (CSRF header on writes); answers arrive as
// server-sent events (`sources`, `token`, `done`, `error`) and Stop aborts the request,
// which ends the generation on the server. Each thread has its own pane, so a question can
// stream in one thread while another is open.
import {lineChart} from "../optiq/charts.js";

const root = document.getElementById("ask-optiq");
const threadsUrl = root.dataset.threadsUrl;
const adminRoot = root.dataset.adminRoot;
const canSeePatients = root.dataset.canSeePatients === "1";
const csrf = root.dataset.csrf;
const $ = (id) => document.getElementById(id);
const list = $("ask-thread-list"), search = $("ask-search"), conversations = $("ask-conversations");
const title = $("ask-title"), input = $("ask-input"), form = $("ask-form");
const send = $("ask-send"), stop = $("ask-stop"), renameButton = $("ask-rename"), deleteButton = $("ask-delete");
const renameForm = $("ask-rename-form"), renameInput = $("ask-rename-input");
const welcome = $("ask-welcome");

const PERIOD_KEYS = ["month", "week", "day", "quarter", "period"];
const MONEY = /revenue|price|cost|margin|takings|amount|total_value/;
const KIND_LABELS = {data: "From the practice's data", knowledge: "From the knowledge base", refusal: "Not permitted", error: "Error"};

// What the page measured, for the browser tests and the latency benchmark.
const record = (window.askOptiQ = {timings: [], events: []});

const state = {current: null, threads: new Map(), panes: new Map(), enterAt: null};

// --- the API ----------------------------------------------------------------------------------

function headers(method, json) {
  const h = {Accept: "application/json"};
  if (json) h["Content-Type"] = "application/json";
  if (method !== "GET") h["X-CSRFToken"] = csrf;
  return h;
}

function describeError(status, body) {
  if (body && typeof body === "object") {
    if (typeof body.detail === "string") return body.detail;
    const parts = Object.entries(body).map(([field, value]) => `${field}: ${[].concat(value).join(" ")}`);
    if (parts.length) return parts.join("; ");
  }
  return `The server answered ${status}.`;
}

async function api(url, {method = "GET", body} = {}) {
  const response = await fetch(url, {
    method, credentials: "same-origin", headers: headers(method, body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    let detail = null;
    try { detail = await response.json(); } catch { /* not JSON */ }
    const error = new Error(describeError(response.status, detail));
    error.status = response.status;
    throw error;
  }
  return response.status === 204 ? null : response.json();
}

async function readEvents(response, handlers) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "", ended = false;
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, {stream: true});
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data += (data ? "\n" : "") + line.slice(5).replace(/^ /, "");
      }
      if (!data) continue;
      if (event === "done" || event === "error") ended = true;
      handlers[event]?.(JSON.parse(data));
    }
  }
  return ended;
}

// --- building blocks ----------------------------------------------------------------------------

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

const HEADINGS = {sku: "SKU", vat: "VAT"};
const HIDDEN_COLUMN = /(^|_)id$/;  // row ids serve links, not reading

function heading(key) {
  if (HEADINGS[key]) return HEADINGS[key];
  const words = key.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const isNumeric = (v) => typeof v === "number" || (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v)));
const periodText = (v) => (v && typeof v === "object" ? v.label || v.start || JSON.stringify(v) : String(v));
const money = (v) => "£" + Number(v).toLocaleString("en-GB", {minimumFractionDigits: 2, maximumFractionDigits: 2});

function cellText(key, value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (MONEY.test(key) && isNumeric(value)) return money(value);
  if (typeof value === "object") return periodText(value);
  return String(value);
}

function table(rows, columns, labels = {}) {
  return el("table", {class: "ask-table"},
    el("thead", {}, el("tr", {}, ...columns.map((c) => el("th", {scope: "col", text: labels[c] || heading(c)})))),
    el("tbody", {}, ...rows.map((row) => el("tr", {}, ...columns.map((c) =>
      el("td", {class: isNumeric(row[c]) ? "ask-number" : null, text: cellText(c, row[c])}))))));
}

function columnsOf(rows) {
  const columns = [];
  for (const row of rows) for (const key of Object.keys(row)) if (!columns.includes(key) && !HIDDEN_COLUMN.test(key)) columns.push(key);
  return columns;
}

function chartFor(rows, periodKey, columns) {
  const numeric = columns.filter((c) => c !== periodKey && rows.every((r) => r[c] === null || r[c] === undefined || isNumeric(r[c])));
  if (!numeric.length || rows.length < 2) return null;
  const column = numeric.find((c) => /revenue/.test(c)) || numeric.find((c) => /units/.test(c)) || numeric[0];
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  lineChart(svg, {
    series: [{label: heading(column), points: rows.map((r, i) => [i, Number(r[column] ?? 0)]), dots: true}],
    xLabels: rows.map((r, i) => [i, periodText(r[periodKey])]),
    yFromZero: true,
    yFormat: MONEY.test(column) ? (v) => "£" + Math.round(v).toLocaleString("en-GB") : (v) => String(Math.round(v * 100) / 100),
    height: 200,
  });
  return el("div", {class: "ask-chart", "data-column": column}, el("p", {class: "ask-chart-title", text: `${heading(column)} by ${periodKey}`}), svg);
}

// A data question's result carries its query, scope and raw value for machines (the caption
// states the scope, the tool-call disclosure the query): staff read the figures.
const QUERY_INTERNAL = new Set(["query", "metric", "scope", "source", "groups", "value", "value_text"]);

function queryValue(data, holder) {
  // The asked-for figure under its own name, when the result has no field of that name.
  const value = holder.value_text ?? holder.value;
  return data.metric && !(data.metric in holder) && value !== undefined ? [[data.metric, value]] : [];
}

function queryColumns(data, rows, columns) {
  const group = data.query && data.query.group_by;
  const keep = columns.filter((c) => !QUERY_INTERNAL.has(c) && !(c === group && columns.includes("label")));
  const named = rows.some((r) => queryValue(data, r).length) ? [data.metric] : [];
  return {columns: [...keep, ...named], labels: {label: heading(group || "label")}};
}

// What read the question into its query: the question parser, a fine-tuned router or the chat model.
const READ_BY = {parser: "the question parser", router: "the fine-tuned router", model: "the chat model"};

function figure(source) {
  const data = source.data;
  const readBy = READ_BY[source.planner];
  const box = el("figure", {class: "ask-figure", "data-planner": source.planner || null},
    el("figcaption", {text: source.title}),
    readBy ? el("p", {class: "ask-quiet ask-read-by", text: `Read by ${readBy}; the query is under “How this was worked out”.`}) : null);
  const fromQuery = Boolean(data && data.query && data.metric);
  if (data && Array.isArray(data.rows)) {
    let rows = data.rows;
    if (!rows.length) return null;  // the answer's text already says there is nothing
    let columns = columnsOf(rows);
    let labels = {};
    const periodKey = PERIOD_KEYS.find((k) => columns.includes(k));
    if (fromQuery) {
      rows = rows.map((r) => ({...r, ...Object.fromEntries(queryValue(data, r))}));
      ({columns, labels} = queryColumns(data, rows, columns));
    }
    const chart = periodKey ? chartFor(rows, periodKey, columns.filter((c) => c !== "label")) : null;
    if (chart) box.append(chart);
    box.append(table(rows.slice(0, 100), columns, labels));
    if (rows.length > 100) box.append(el("p", {class: "ask-quiet", text: `The first 100 of ${rows.length} rows.`}));
  } else if (data && typeof data === "object") {
    // A figure's period is shown once, by its label.
    const dated = data.period && typeof data.period === "object";
    const entries = [...(fromQuery ? queryValue(data, data) : []), ...Object.entries(data)].filter(([k, v]) =>
      (v === null || typeof v !== "object" || v.label || v.start) && !(dated && (k === "start" || k === "end"))
      && !(fromQuery && QUERY_INTERNAL.has(k)));
    box.append(el("table", {class: "ask-table ask-table-figures"}, el("tbody", {}, ...entries.map(([k, v]) =>
      el("tr", {}, el("th", {scope: "row", text: heading(k)}), el("td", {class: isNumeric(v) ? "ask-number" : null, text: cellText(k, v)}))))));
  }
  return box;
}

// A chunk's heading path starts with its article's title, which the link already shows.
function section(source) {
  const path = source.heading || "";
  const prefix = `${source.title} > `;
  return path.startsWith(prefix) ? path.slice(prefix.length) : path === source.title ? "" : path;
}

function sourceItem(source) {
  if (source.kind === "knowledge_chunk") {
    const href = source.document ? `${adminRoot}assistant/knowledgedocument/by-slug/${encodeURIComponent(source.document)}/` : null;
    return el("li", {class: "ask-source ask-source-article"},
      href ? el("a", {href, text: source.title}) : el("strong", {text: source.title}),
      section(source) ? el("span", {class: "ask-quiet", text: ` — ${section(source)}`}) : null,
      el("blockquote", {text: source.snippet}));
  }
  if (source.kind === "product") {
    return el("li", {class: "ask-source ask-source-product"},
      el("a", {href: `${adminRoot}practice/product/${source.id}/change/`, text: source.title}),
      el("span", {class: "ask-quiet", text: ` — ${source.snippet}`}));
  }
  if (source.kind === "patient") {
    return el("li", {class: "ask-source ask-source-patient"},
      canSeePatients ? el("a", {href: `${adminRoot}practice/patient/${source.id}/change/`, text: source.title}) : el("span", {text: source.title}),
      el("span", {class: "ask-quiet", text: ` — ${source.snippet}`}));
  }
  return el("li", {class: "ask-source", text: `${source.title}: ${source.snippet}`});
}

function toolCalls(calls) {
  if (!calls || !calls.length) return null;
  return el("details", {class: "ask-tools"},
    el("summary", {text: `How this was worked out: ${calls.length} tool call${calls.length === 1 ? "" : "s"}`}),
    el("ul", {}, ...calls.map((call) => el("li", {},
      el("code", {text: call.name}),
      el("pre", {text: JSON.stringify(call.arguments || {}, null, 2)}),
      call.error ? el("p", {class: "ask-error-text", text: call.error}) : null))));
}

// --- one answer ---------------------------------------------------------------------------------

class Answer {
  constructor(threadId) {
    this.threadId = threadId;
    this.text = el("div", {class: "ask-text"});
    this.badges = el("span", {class: "ask-badges"});
    this.notice = el("p", {class: "ask-notice", hidden: true});
    this.sources = el("div", {class: "ask-sources"});
    this.tools = el("div", {class: "ask-tool-calls"});
    this.feedback = el("div", {class: "ask-feedback"});
    this.el = el("article", {class: "ask-message ask-answer", "data-state": "waiting"},
      el("div", {class: "ask-meta"}, el("span", {class: "ask-who", text: "OptiQ"}), this.badges),
      this.text, this.notice, this.sources, this.tools, this.feedback);
    this.text.append(el("span", {class: "ask-thinking", text: "Thinking…"}));
    this.written = "";
  }

  set state(value) { this.el.dataset.state = value; }

  badge(text, kind) { this.badges.append(el("span", {class: `ask-badge ask-badge-${kind}`, text})); }

  setSources(sources) {
    this.sources.replaceChildren();
    const figures = sources.filter((s) => s.kind === "tool_result");
    const cited = sources.filter((s) => s.kind !== "tool_result");
    for (const source of figures) this.sources.append(...[figure(source)].filter(Boolean));
    if (cited.length) this.sources.append(el("h3", {text: "Sources"}), el("ol", {class: "ask-source-list"}, ...cited.map(sourceItem)));
  }

  appendText(text) {
    if (!this.written) this.text.replaceChildren();
    this.written += text;
    this.text.textContent = this.written;
    this.state = "streaming";
  }

  show(message) {
    this.el.dataset.messageId = message.id;
    this.el.classList.add(`kind-${message.kind}`);
    const status = message.status || "complete";
    this.el.classList.add(`status-${status}`);
    this.state = status === "complete" ? "complete" : status;
    this.badges.replaceChildren();
    if (KIND_LABELS[message.kind]) this.badge(KIND_LABELS[message.kind], message.kind);
    if (status === "stopped") this.badge("Stopped", "stopped");
    if (status === "incomplete") this.badge("Incomplete", "incomplete");
    if (message.model_name) this.badges.append(el("span", {class: "ask-quiet", text: message.model_name}));
    this.written = message.content;
    this.text.textContent = message.content;
    if (message.kind === "refusal") {
      this.notice.hidden = false;
      this.notice.className = "ask-notice ask-notice-refusal";
      this.notice.textContent = "OptiQ answers with your permissions: this needs a permission your role does not have.";
    }
    this.setSources(message.sources || []);
    this.tools.replaceChildren(...[toolCalls(message.tool_calls)].filter(Boolean));
    this.offerFeedback(message.id);
  }

  stopped() {
    this.state = "stopped";
    if (!this.written) this.text.replaceChildren(el("span", {class: "ask-quiet", text: "Stopped before anything was written."}));
    this.badge("Stopped", "stopped");
  }

  error(message) {
    this.state = "error";
    if (!this.written) this.text.replaceChildren();
    this.notice.hidden = false;
    this.notice.className = "ask-notice ask-notice-error";
    this.notice.textContent = message + (this.written ? " What was written so far is kept above." : "");
    this.badge("Error", "error");
  }

  offerFeedback(messageId) {
    const url = `${threadsUrl}${this.threadId}/messages/${messageId}/feedback/`;
    const status = el("span", {class: "ask-feedback-status", role: "status"});
    const corrected = el("textarea", {name: "corrected_answer", rows: 3, maxlength: 8000});
    const comment = el("textarea", {name: "comment", rows: 2, maxlength: 2000});
    let rating = -1;
    const post = async (body) => {
      status.textContent = "Sending…";
      try {
        await api(url, {method: "POST", body});
        status.textContent = body.rating > 0 ? "Feedback recorded: helpful. Thank you."
          : `Feedback recorded: not helpful${body.corrected_answer ? ", with your correction" : ""}. Thank you.`;
        this.feedback.dataset.recorded = String(body.rating);
        details.hidden = true;
      } catch (error) {
        status.textContent = `Feedback not recorded: ${error.message}`;
      }
    };
    const details = el("form", {class: "ask-feedback-form", hidden: true, onsubmit: (event) => {
      event.preventDefault();
      post({rating, corrected_answer: corrected.value.trim(), comment: comment.value.trim()});
    }},
      el("label", {}, "Corrected answer (optional)", corrected),
      el("label", {}, "Comment (optional)", comment),
      el("button", {type: "submit", class: "button default", text: "Send feedback"}));
    this.feedback.replaceChildren(
      el("span", {class: "ask-quiet", text: "Was this helpful?"}),
      el("button", {type: "button", class: "button ask-helpful", text: "Helpful", onclick: () => post({rating: 1})}),
      el("button", {type: "button", class: "button ask-unhelpful", text: "Not helpful", onclick: () => {
        rating = -1; details.hidden = false; corrected.focus();
      }}),
      status, details);
  }
}

function questionBubble(text) {
  return el("article", {class: "ask-message ask-question"}, el("div", {class: "ask-meta"}, el("span", {class: "ask-who", text: "You"})), el("div", {class: "ask-text", text}));
}

function renderMessages(pane, messages) {
  pane.el.replaceChildren();
  for (const message of messages) {
    if (message.role === "user") pane.el.append(questionBubble(message.content));
    else { const answer = new Answer(pane.id); answer.show(message); pane.el.append(answer.el); }
  }
}

// --- threads and panes --------------------------------------------------------------------------

function pane(id) {
  if (!state.panes.has(id)) {
    const node = el("div", {class: "ask-pane", "data-thread": id ?? "new"});
    if (id === null) node.append(welcome);
    conversations.append(node);
    state.panes.set(id, {id, el: node, loaded: id === null, stream: null});
  }
  return state.panes.get(id);
}

function threadName(thread) { return thread.title || `Conversation ${thread.id}`; }

function refreshChrome() {
  const thread = state.current === null ? null : state.threads.get(state.current);
  title.textContent = thread ? threadName(thread) : "New conversation";
  renameButton.hidden = deleteButton.hidden = !thread;
  const streaming = Boolean(pane(state.current).stream);
  stop.hidden = !streaming;
  send.disabled = streaming;
  for (const item of list.children) {
    const id = Number(item.dataset.thread);
    item.classList.toggle("current", id === state.current);
    item.classList.toggle("streaming", Boolean(state.panes.get(id)?.stream));
  }
}

function scrollDown(force = false) {
  const near = conversations.scrollHeight - conversations.scrollTop - conversations.clientHeight < 120;
  if (force || near) conversations.scrollTop = conversations.scrollHeight;
}

async function loadThreads() {
  const query = search.value.trim();
  const data = await api(threadsUrl + (query ? `?search=${encodeURIComponent(query)}` : ""));
  const threads = data.results ?? data;
  for (const thread of threads) state.threads.set(thread.id, {...state.threads.get(thread.id), ...thread});
  list.replaceChildren(...threads.map((thread) => el("li", {"data-thread": thread.id},
    el("a", {href: `?thread=${thread.id}`, onclick: (event) => { event.preventDefault(); openThread(thread.id); }},
      el("span", {class: "ask-thread-title", text: threadName(thread)}),
      el("span", {class: "ask-quiet ask-thread-date", text: new Date(thread.updated_at).toLocaleString("en-GB", {dateStyle: "medium", timeStyle: "short"})})))));
  $("ask-empty-list").hidden = threads.length > 0;
  refreshChrome();
}

async function openThread(id) {
  state.current = id;
  renameForm.hidden = true;
  const current = pane(id);
  for (const other of state.panes.values()) other.el.hidden = other !== current;
  history.replaceState(null, "", id === null ? location.pathname : `?thread=${id}`);
  refreshChrome();
  if (!current.loaded && !current.stream) {
    try {
      const thread = await api(`${threadsUrl}${id}/`);
      state.threads.set(id, thread);
      renderMessages(current, thread.messages);
      current.loaded = true;
      refreshChrome();
    } catch (error) {
      current.el.replaceChildren(el("p", {class: "ask-notice ask-notice-error", text: `This conversation could not be opened: ${error.message}`}));
    }
  }
  scrollDown(true);
  input.focus();
}

// Once a stream ended without its `done` (Stop, an error, a dropped connection), the server
// stores what was written: pick that message up so that it can be rated.
async function settle(threadId, question, answer) {
  // The server notices a Stop at the model's next token, which can take seconds on a busy CPU.
  for (let attempt = 0; attempt < 30; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(300 + attempt * 200, 2000)));
    let thread;
    try { thread = await api(`${threadsUrl}${threadId}/`); } catch { return; }
    const asked = thread.messages.map((m, i) => [m, i]).filter(([m]) => m.role === "user" && m.content === question).pop();
    const stored = asked && thread.messages[asked[1] + 1];
    if (stored && stored.role === "assistant") {
      answer.el.dataset.messageId = stored.id;
      answer.el.dataset.storedStatus = stored.status || "complete";
      answer.offerFeedback(stored.id);
      return;
    }
  }
}

async function ask(question, enterAt) {
  let id = state.current;
  if (id === null) {
    // Titled by its first question at once, so the list names it while the answer is written.
    const words = question.split(/\s+/).join(" ");
    const titled = words.length <= 80 ? words : words.slice(0, 79).replace(/\s+\S*$/, "") + "…";
    const thread = await api(threadsUrl, {method: "POST", body: {title: titled}});
    id = thread.id;
    state.threads.set(id, thread);
    const fresh = state.panes.get(null);
    state.panes.delete(null);
    fresh.id = id;
    fresh.el.dataset.thread = id;
    welcome.remove();
    state.panes.set(id, fresh);
    state.current = id;
    history.replaceState(null, "", `?thread=${id}`);
  }
  const target = pane(id);
  target.el.append(questionBubble(question));
  const answer = new Answer(id);
  target.el.append(answer.el);
  scrollDown(true);
  const controller = new AbortController();
  target.stream = {controller, answer};
  refreshChrome();
  const timing = {
    thread: id, question, enter: enterAt, sourcesShown: null, sourcesShownBeforeEnd: false,
    firstToken: null, firstTokenShown: null, framesWhileStreaming: 0, done: null, tokens: 0,
  };
  record.timings.push(timing);
  const note = (kind) => record.events.push({thread: id, kind, at: performance.now(), length: answer.written.length});
  let ended = false, aborted = false;
  try {
    const response = await fetch(`${threadsUrl}${id}/messages/`, {
      method: "POST", credentials: "same-origin", signal: controller.signal,
      headers: headers("POST", true),
      body: JSON.stringify({content: question, stream: true}),
    });
    if (!response.ok) {
      let detail = null;
      try { detail = await response.json(); } catch { /* not JSON */ }
      answer.error(describeError(response.status, detail));
      ended = true;
    } else {
      loadThreads();
      ended = await readEvents(response, {
        sources: (sources) => {
          answer.setSources(sources);
          note("sources");
          requestAnimationFrame(() => {
            timing.sourcesShown = performance.now();
            timing.sourcesShownBeforeEnd = timing.done === null && !answer.el.dataset.messageId;
          });
        },
        token: ({text}) => {
          answer.appendText(text);
          timing.tokens += 1;
          if (timing.firstToken === null) {
            timing.firstToken = performance.now();
            requestAnimationFrame(() => { timing.firstTokenShown = performance.now(); });
          }
          // A frame drawn while the answer is still being written: the tokens were on screen early.
          requestAnimationFrame(() => { if (answer.el.dataset.state === "streaming") timing.framesWhileStreaming += 1; });
          note("token");
          scrollDown();
        },
        done: (message) => { answer.show(message); note("done"); },
        error: ({message, code}) => { answer.error(`The answer stopped with an error: ${message}${code ? ` (${code})` : ""}.`); note("error"); },
      });
    }
  } catch (error) {
    if (error.name === "AbortError") { aborted = true; answer.stopped(); note("stopped"); }
    else { answer.error(`The connection failed: ${error.message}`); }
  } finally {
    timing.done = performance.now();
    target.stream = null;
    refreshChrome();
    loadThreads();
  }
  if (aborted || !ended || answer.el.dataset.state === "error") {
    if (!ended && !aborted) answer.error("The answer ended early.");
    await settle(id, question, answer);
  }
}

// --- the controls -------------------------------------------------------------------------------

input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    state.enterAt = performance.now();
    form.requestSubmit();
  }
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const question = input.value.trim();
  const enterAt = state.enterAt ?? performance.now();
  state.enterAt = null;
  if (!question || pane(state.current).stream) return;
  input.value = "";
  ask(question, enterAt).catch((error) => {
    pane(state.current).el.append(el("p", {class: "ask-notice ask-notice-error", text: `Not asked: ${error.message}`}));
  });
});

stop.addEventListener("click", () => pane(state.current).stream?.controller.abort());

$("ask-new").addEventListener("click", () => {
  const fresh = state.panes.get(null);
  if (fresh && !fresh.el.contains(welcome)) fresh.el.append(welcome);
  openThread(null);
});

let searching = null;
search.addEventListener("input", () => {
  clearTimeout(searching);
  searching = setTimeout(loadThreads, 250);
});

renameButton.addEventListener("click", () => {
  renameInput.value = state.threads.get(state.current)?.title || "";
  renameForm.hidden = false;
  renameInput.focus();
});
$("ask-rename-cancel").addEventListener("click", () => { renameForm.hidden = true; });
renameForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const id = state.current;
  try {
    const thread = await api(`${threadsUrl}${id}/`, {method: "PATCH", body: {title: renameInput.value.trim()}});
    state.threads.set(id, {...state.threads.get(id), ...thread});
    renameForm.hidden = true;
    await loadThreads();
  } catch (error) {
    renameInput.setCustomValidity(error.message);
    renameInput.reportValidity();
    renameInput.setCustomValidity("");
  }
});

deleteButton.addEventListener("click", async () => {
  const id = state.current;
  if (!window.confirm(`Delete “${threadName(state.threads.get(id))}” and all its messages?`)) return;
  pane(id).stream?.controller.abort();
  await api(`${threadsUrl}${id}/`, {method: "DELETE"});
  state.panes.get(id)?.el.remove();
  state.panes.delete(id);
  state.threads.delete(id);
  await openThread(null);
  await loadThreads();
});

loadThreads();
openThread(root.dataset.thread ? Number(root.dataset.thread) : null);
