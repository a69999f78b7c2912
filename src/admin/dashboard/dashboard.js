// The clawgate dashboard: sign in with the admin token, approve or deny held
// requests, watch decisions as they happen, and set a run-time base key.
// Plain JavaScript, no build step; everything the server sends is put on the
// page as text, never as HTML.
"use strict";

const TOKEN_KEY = "clawgate.token";
const NAME_KEY = "clawgate.name";
const MAX_ROWS = 200;

const state = {
  token: null,
  holds: new Map(),      // id -> { hold, card }
  decisions: [],         // newest first
  filters: { agent: "", decision: "", account: "" },
  agents: new Set(),
  events: null,          // AbortController of the event stream
  generation: 0,         // bumped on sign-out so stale loops stop
};

const $ = (selector, root = document) => root.querySelector(selector);

/** Creates an element: h("td", { class: "x" }, "text", child). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

// ---------------------------------------------------------------- the API

class Unauthorized extends Error {}

/** Calls the admin API; a 401 anywhere signs out. Returns the Response. */
async function api(path, options = {}) {
  const token = state.token;
  const headers = { Authorization: `Bearer ${token}`, ...(options.headers || {}) };
  const response = await fetch(`api/${path}`, { cache: "no-store", ...options, headers });
  if (response.status === 401) {
    if (state.token === token) signOut("The admin token was not accepted. Sign in again.");
    throw new Unauthorized();
  }
  return response;
}

async function apiJson(path) {
  const response = await api(path);
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

// ---------------------------------------------------------------- sign-in

function start() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.has("token")) {
    sessionStorage.setItem(TOKEN_KEY, fragment.get("token"));
    history.replaceState(null, "", location.pathname + location.search);
  }
  const name = $("#name");
  name.value = localStorage.getItem(NAME_KEY) || "";
  name.addEventListener("input", () => {
    localStorage.setItem(NAME_KEY, name.value.trim());
    updateNameHint();
    for (const { card, hold } of state.holds.values()) fillCard(card, hold); // mark "you" among the approvers
  });
  $("#signin-form").addEventListener("submit", onSignIn);
  $("#signout").addEventListener("click", () => signOut());
  $("#filters").addEventListener("input", onFilters);
  $("#filters").addEventListener("submit", (e) => e.preventDefault());
  $("#creds-form").addEventListener("submit", onSetKey);
  setInterval(tick, 1000);

  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) enter(token);
  else showSignIn();
}

function showSignIn(message) {
  $("#app").hidden = true;
  $("#tools").hidden = true;
  $("#signin").hidden = false;
  const error = $("#signin-error");
  error.hidden = !message;
  error.textContent = message || "";
  $("#token").value = "";
  $("#token").focus();
  document.title = "clawgate";
}

async function onSignIn(event) {
  event.preventDefault();
  const token = $("#token").value.trim();
  if (token) enter(token);
}

function enter(token) {
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  $("#signin").hidden = true;
  $("#app").hidden = false;
  $("#tools").hidden = false;
  updateNameHint();
  connect(++state.generation);
  loadCredentials().catch(ignoreSignOut);
}

function signOut(message) {
  state.generation++;
  state.events?.abort();
  state.events = null;
  state.token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  for (const id of [...state.holds.keys()]) removeHold(id);
  state.decisions = [];
  $("#decisions tbody").replaceChildren();
  showDecisionsEmpty();
  showSignIn(message);
}

function ignoreSignOut(error) {
  if (!(error instanceof Unauthorized)) toast(error.message, "error");
}

function decider() {
  return $("#name").value.trim();
}

function updateNameHint() {
  $("#name-hint").hidden = decider() !== "" || state.holds.size === 0;
  $("#name").classList.toggle("needed", decider() === "" && state.holds.size > 0);
}

// ---------------------------------------------------------------- live events

/**
 * Reads `GET /api/events` with fetch (EventSource cannot send the token),
 * reloading holds and decisions on every (re)connect, and reconnecting with
 * backoff when the stream drops or goes quiet past its pings.
 */
async function connect(generation) {
  let backoff = 1000;
  let first = true;
  while (generation === state.generation) {
    const controller = new AbortController();
    state.events = controller;
    let watchdog;
    const feed = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => controller.abort(), 45000);
    };
    try {
      setConnection(first ? "connecting" : "reconnecting");
      first = false;
      feed();
      const response = await api("events", {
        headers: { Accept: "text/event-stream" },
        signal: controller.signal,
      });
      if (!response.ok || !response.body) throw new Error(`events: ${response.status}`);
      await Promise.all([loadHolds(), loadDecisions()]);
      setConnection("live");
      backoff = 1000;
      await readEvents(response.body, feed);
    } catch (error) {
      if (error instanceof Unauthorized) return;
    } finally {
      clearTimeout(watchdog);
      controller.abort(); // close the stream if a reload failed while it was open
    }
    if (generation !== state.generation) return;
    setConnection("reconnecting", backoff);
    await sleep(backoff);
    backoff = Math.min(backoff * 2, 30000);
  }
}

/** Parses a text/event-stream body, dispatching each complete event. */
async function readEvents(body, alive) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let type = "";
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    alive();
    buffer += value;
    const lines = buffer.split("\n");
    buffer = lines.pop();
    for (const raw of lines) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line === "") {
        if (data.length) dispatch(type || "message", data.join("\n"));
        type = "";
        data = [];
      } else if (line.startsWith(":")) {
        // a comment: the server's keep-alive ping
      } else {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let text = colon < 0 ? "" : line.slice(colon + 1);
        if (text.startsWith(" ")) text = text.slice(1);
        if (field === "event") type = text;
        else if (field === "data") data.push(text);
      }
    }
  }
}

function dispatch(type, text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    return;
  }
  if (type === "hold") upsertHold(data);
  else if (type === "settled") settled(data);
  else if (type === "decision") addDecision(data, true);
}

function setConnection(status, retryMs) {
  const conn = $("#conn");
  conn.dataset.state = status;
  const text = {
    connecting: "Connecting…",
    live: "Live",
    reconnecting: `Reconnecting${retryMs ? ` in ${Math.round(retryMs / 1000)}s` : ""}…`,
  }[status];
  $(".conn-text", conn).textContent = text;
  conn.title = status === "live" ? "Receiving updates as they happen" : "Updates are paused until the connection is back";
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- holds

async function loadHolds() {
  const holds = await apiJson("holds");
  const seen = new Set();
  for (const hold of holds) {
    seen.add(hold.id);
    upsertHold(hold);
  }
  for (const id of [...state.holds.keys()]) if (!seen.has(id)) removeHold(id);
}

function upsertHold(hold) {
  let entry = state.holds.get(hold.id);
  if (!entry) {
    entry = { hold, card: holdCard(hold) };
    state.holds.set(hold.id, entry);
    placeCard(entry);
  }
  entry.hold = hold;
  fillCard(entry.card, hold);
  holdsChanged();
}

/** Keeps cards oldest first, as the API lists them. */
function placeCard(entry) {
  const list = $("#holds");
  const after = [...list.children].find((card) => Number(card.dataset.since) > entry.hold.since);
  list.insertBefore(entry.card, after || null);
}

function removeHold(id) {
  const entry = state.holds.get(id);
  if (!entry) return;
  state.holds.delete(id);
  entry.card.remove();
  holdsChanged();
}

function settled({ id, outcome }) {
  const entry = state.holds.get(id);
  if (entry && !entry.card.dataset.mine) toast(`Hold #${id} ${outcome}: ${entry.hold.summary}`, outcomeTone(outcome));
  removeHold(id);
}

function outcomeTone(outcome) {
  return outcome === "allowed" ? "ok" : outcome === "denied" ? "error" : "warn";
}

function holdsChanged() {
  const count = state.holds.size;
  $("#hold-count").textContent = count;
  $("#hold-count").classList.toggle("hot", count > 0);
  $("#holds-empty").hidden = count > 0;
  document.title = count > 0 ? `(${count}) clawgate` : "clawgate";
  updateNameHint();
}

/** The card's fixed frame; fillCard puts the hold's current state in it. */
function holdCard(hold) {
  const reason = h("input", {
    class: "reason",
    type: "text",
    placeholder: "Reason (optional, the agent is told)",
    maxlength: 500,
    onkeydown: (e) => {
      if (e.key === "Enter") decide(hold.id, false, card);
      if (e.key === "Escape") card.classList.remove("denying");
    },
  });
  const card = h(
    "article",
    { class: "card hold", "data-id": hold.id, "data-since": hold.since },
    h("div", { class: "hold-main" },
      h("p", { class: "summary" }),
      h("p", { class: "meta" }),
      h("div", { class: "people" }),
      h("details", { class: "facets" }, h("summary"), h("table"))),
    h("div", { class: "hold-side" },
      h("div", { class: "clock" }, h("span", { class: "waited" }), h("span", { class: "expires" })),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "btn btn-allow allow", onclick: () => decide(hold.id, true, card) }, "Allow"),
        h("button", { type: "button", class: "btn btn-deny deny", onclick: () => startDeny(card) }, "Deny")),
      h("div", { class: "deny-form" },
        reason,
        h("div", { class: "deny-buttons" },
          h("button", { type: "button", class: "btn btn-quiet", onclick: () => card.classList.remove("denying") }, "Cancel"),
          h("button", { type: "button", class: "btn btn-deny confirm-deny", onclick: () => decide(hold.id, false, card) }, "Deny request")))),
    h("div", { class: "progress" }, h("span")),
  );
  return card;
}

function fillCard(card, hold) {
  card.dataset.since = hold.since;
  card.dataset.expires = hold.expires;
  $(".summary", card).textContent = hold.summary;
  $(".meta", card).replaceChildren(
    h("span", { class: "tag" }, "#", hold.id),
    h("span", {}, "agent ", h("strong", {}, hold.agent || "unknown")),
    h("span", {}, "rule ", h("strong", {}, hold.rule)),
  );
  const me = decider();
  const person = (name, allowed) => h("span", {
    class: `person${allowed ? " allowed" : ""}${name === me ? " me" : ""}`,
    title: allowed ? `${name} allowed it` : `waiting for ${name}`,
  }, allowed ? "✓ " : "", name);
  const allowed = hold.allowed_by || [];
  const allow = $("button.allow", card);
  allow.disabled = allowed.includes(me) || card.classList.contains("busy");
  allow.title = allowed.includes(me) ? "You have allowed it; it waits for the others" : "";
  const waiting = hold.waiting_for || (hold.approvers || []).filter((name) => !allowed.includes(name));
  $(".people", card).replaceChildren(...[
    h("span", { class: "label" }, "Waiting for"),
    ...(waiting.length ? waiting.map((name) => person(name, false)) : [h("span", { class: "muted" }, "nobody")]),
    allowed.length ? h("span", { class: "label label-then" }, "Allowed by") : null,
    ...allowed.map((name) => person(name, true)),
  ].filter(Boolean));
  const facets = Object.entries(hold.facets || {});
  $(".facets summary", card).textContent = `Request details (${facets.length})`;
  $(".facets table", card).replaceChildren(
    ...facets.map(([key, value]) => h("tr", {}, h("th", {}, key), h("td", {}, formatValue(value)))));
  tickCard(card, Date.now() / 1000);
}

function formatValue(value) {
  return typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
}

function startDeny(card) {
  if (!requireName()) return;
  card.classList.add("denying");
  $(".reason", card).focus();
}

function requireName() {
  if (decider()) return true;
  const name = $("#name");
  name.focus();
  name.classList.remove("shake");
  void name.offsetWidth; // restart the animation
  name.classList.add("shake");
  toast("Enter your name first: clawgate records who decided.", "warn");
  return false;
}

async function decide(id, allow, card) {
  if (!requireName()) return;
  const body = { by: decider() };
  const reason = $(".reason", card).value.trim();
  if (!allow && reason) body.reason = reason;
  card.classList.add("busy");
  for (const button of card.querySelectorAll("button")) button.disabled = true;
  try {
    const response = await api(`holds/${id}/${allow ? "allow" : "deny"}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (response.status === 404) {
      toast(`Hold #${id} is already settled.`, "warn");
      removeHold(id);
      return;
    }
    if (!response.ok) throw new Error(await response.text() || `status ${response.status}`);
    card.dataset.mine = "1";
    toast(allow ? `You allowed hold #${id}.` : `You denied hold #${id}.`, allow ? "ok" : "error");
    // Settled, or still waiting for someone else: the list says which.
    await loadHolds();
  } catch (error) {
    ignoreSignOut(error);
  } finally {
    card.classList.remove("busy");
    delete card.dataset.mine;
    for (const button of card.querySelectorAll("button")) button.disabled = false;
    const entry = state.holds.get(id);
    if (entry) fillCard(entry.card, entry.hold);
  }
}

/** Once a second: how long each hold has waited, and how long it has left. */
function tick() {
  const now = Date.now() / 1000;
  for (const { card } of state.holds.values()) tickCard(card, now);
}

function tickCard(card, now) {
  const since = Number(card.dataset.since);
  const expires = Number(card.dataset.expires);
  const left = Math.max(0, expires - now);
  $(".waited", card).textContent = `waited ${duration(now - since)}`;
  $(".expires", card).textContent = left > 0 ? `expires in ${clock(left)}` : "expiring…";
  const span = Math.max(1, expires - since);
  card.classList.toggle("urgent", left < Math.min(60, span / 4));
  $(".progress span", card).style.width = `${Math.min(100, (left / span) * 100)}%`;
}

function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

function clock(seconds) {
  const s = Math.ceil(seconds);
  const hours = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(hours ? 2 : 1, "0");
  const ss = String(s % 60).padStart(2, "0");
  return hours ? `${hours}:${mm}:${ss}` : `${mm}:${ss}`;
}

// ---------------------------------------------------------------- decisions

let filterTimer;
function onFilters() {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(() => {
    const form = new FormData($("#filters"));
    for (const key of Object.keys(state.filters)) state.filters[key] = String(form.get(key) || "").trim();
    loadDecisions().catch(ignoreSignOut);
  }, 250);
}

async function loadDecisions() {
  const query = new URLSearchParams({ limit: "100" });
  for (const [key, value] of Object.entries(state.filters)) if (value) query.set(key, value);
  const wanted = { ...state.filters };
  const records = await apiJson(`decisions?${query}`);
  if (JSON.stringify(wanted) !== JSON.stringify(state.filters)) return; // a newer load is on its way
  state.decisions = [];
  $("#decisions tbody").replaceChildren();
  for (const record of records.slice(0, MAX_ROWS)) addDecision(record, false);
  showDecisionsEmpty();
}

function showDecisionsEmpty() {
  const empty = $("#decisions-empty");
  empty.hidden = state.decisions.length > 0;
  empty.textContent = Object.values(state.filters).some(Boolean)
    ? "No decisions match these filters."
    : "No decisions recorded yet.";
}

function matchesFilters(record) {
  const { agent, decision, account } = state.filters;
  if (agent && record.agent !== agent) return false;
  if (decision && record.decision !== decision) return false;
  if (account) {
    const facets = record.facets || {};
    if (String(facets["aws.account"] ?? "") !== account && String(facets["aws.account_name"] ?? "") !== account) return false;
  }
  return true;
}

/** Adds a record: live ones on top (if they pass the filters), loaded ones in order. */
function addDecision(record, live) {
  if (record.agent && !state.agents.has(record.agent)) {
    state.agents.add(record.agent);
    $("#agents").append(h("option", { value: record.agent }));
  }
  if (live && (!matchesFilters(record) || state.decisions.some((r) => r.id === record.id))) return;
  const body = $("#decisions tbody");
  const row = decisionRow(record);
  if (live) {
    state.decisions.unshift(record);
    body.prepend(row);
    row.classList.add("fresh");
  } else {
    state.decisions.push(record);
    body.append(row);
  }
  while (state.decisions.length > MAX_ROWS) {
    state.decisions.pop();
    body.lastElementChild?.remove();
  }
  showDecisionsEmpty();
}

function decisionRow(record) {
  const time = new Date(record.time);
  const facets = record.facets || {};
  const approval = record.approval;
  const badge = h("span", { class: `badge badge-${record.decision || "none"}` }, record.decision || "undecided");
  let by = null;
  if (approval) {
    const people = approval.denied_by ? [approval.denied_by] : approval.allowed_by || [];
    const who = people.length ? ` by ${people.join(", ")}` : "";
    by = h("span", { class: "sub" }, `${approval.outcome}${who}`, approval.waited_ms != null ? ` after ${duration(approval.waited_ms / 1000)}` : "");
  }
  const failed = record.status >= 400 || record.aws_error || record.error;
  const error = record.error && record.error !== record.reason ? record.error : null;
  return h("tr", { class: `row-${record.decision || "none"}` },
    h("td", { class: "col-time", title: record.time }, timeText(time)),
    h("td", { class: "col-agent" }, record.agent || h("span", { class: "muted" }, "—")),
    h("td", { class: "col-decision" }, badge, by),
    h("td", { class: "what" }, what(record, facets)),
    h("td", { class: "rule" }, record.rule || h("span", { class: "muted" }, "no rule"),
      record.reason ? h("span", { class: "sub" }, record.reason) : null,
      error ? h("span", { class: "sub bad" }, error) : null),
    h("td", { class: `num status${failed ? " bad" : ""}` }, record.status || "–",
      record.aws_error ? h("span", { class: "sub" }, record.aws_error) : null),
    h("td", { class: "num took muted", title: record.upstream_ms != null ? `upstream ${ms(record.upstream_ms)}` : null },
      record.duration_ms != null ? ms(record.duration_ms) : "–"),
  );
}

/** What the request did: the AWS operation where there is one, else method host path. */
function what(record, facets) {
  if (facets["aws.action"]) {
    const account = facets["aws.account_name"]
      ? `${facets["aws.account_name"]} (${facets["aws.account"] ?? "?"})`
      : facets["aws.account"];
    return [
      h("strong", {}, facets["aws.action"]),
      " ",
      h("span", { class: "muted" }, [facets["aws.service"], account].filter(Boolean).join(" · ")),
    ];
  }
  return h("code", { title: `${record.method} ${record.host}${record.path}` },
    h("strong", {}, record.method || ""), " ", record.host || "", h("span", { class: "muted" }, record.path || ""));
}

function timeText(date) {
  if (Number.isNaN(date.getTime())) return "?";
  const today = new Date().toDateString() === date.toDateString();
  const t = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  return today ? t : `${date.toLocaleDateString([], { month: "short", day: "numeric" })} ${t}`;
}

function ms(value) {
  return value < 1000 ? `${value} ms` : `${(value / 1000).toFixed(value < 10000 ? 2 : 1)} s`;
}

// ---------------------------------------------------------------- base key

async function loadCredentials() {
  const credentials = await apiJson("credentials");
  const select = $("#cred-name");
  const chosen = select.value;
  select.replaceChildren(...credentials.map((c) =>
    h("option", { value: c.name }, `${c.name} — ${c.set ? "key set" : "no key yet"}`)));
  if (credentials.some((c) => c.name === chosen)) select.value = chosen;
  const none = credentials.length === 0;
  $("#creds-form").hidden = none;
  $("#creds-none").hidden = !none;
}

async function onSetKey(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const name = form.elements.name.value;
  const body = {
    access_key_id: form.elements.access_key_id.value.trim(),
    secret_access_key: form.elements.secret_access_key.value.trim(),
  };
  const session = form.elements.session_token.value.trim();
  if (session) body.session_token = session;
  const button = $("button[type=submit]", form);
  button.disabled = true;
  try {
    const response = await api(`credentials/${encodeURIComponent(name)}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      showResult(`Not set: ${await response.text() || `status ${response.status}`}`, "notice-error");
      return;
    }
    for (const field of ["access_key_id", "secret_access_key", "session_token"]) form.elements[field].value = "";
    showResult(`The base key for ${name} is set.`, "notice-ok");
    await loadCredentials();
  } catch (error) {
    if (!(error instanceof Unauthorized)) showResult(`Not set: ${error.message}`, "notice-error");
  } finally {
    button.disabled = false;
  }
}

function showResult(text, tone) {
  const result = $("#creds-result");
  result.className = `notice ${tone}`;
  result.textContent = text;
  result.hidden = false;
}

// ---------------------------------------------------------------- toasts

function toast(text, tone = "") {
  const el = h("div", { class: `toast toast-${tone}`, role: "status", title: "Click to dismiss", onclick: () => el.remove() }, text);
  $("#toasts").append(el);
  setTimeout(() => el.classList.add("leaving"), 4500);
  setTimeout(() => el.remove(), 5000);
}

start();
