// @ts-check
// wdmesh dashboard: one ES module, no framework, no build step, served by the node's API
// under a strict CSP (script-src 'self', no inline code, connect-src 'self').
//
// Data flow
//   - GET /v1/mesh every MESH_EVERY_MS, and again (coalesced) after each journal event.
//   - Journal events arrive over GET /v1/events/stream, read with fetch() streaming and a
//     small Server-Sent Events parser rather than EventSource: EventSource cannot send an
//     Authorization header, and a node with node.read_token needs one. One code path serves
//     both cases; on reconnect it resumes with ?after=<last seq seen>, so nothing is missed
//     or shown twice. On load the newest FEED_BACKFILL entries are replayed first.
//   - The same stream, opened with probes=1, carries each probe result as a `probe` event:
//     it is appended to the peer's beat strip and sparkline as it comes. A peer's recent
//     probes (GET /v1/peers/:name/history) are read once when its row appears and again
//     after each (re)connect of the stream, to fill what the stream could not carry;
//     the two are merged without duplicates.
//   - An entry is streamed when it is journaled, before its effect has run and its alerts
//     are sent: entries shown without a result yet, or with deliveries still pending, are
//     re-read with GET /v1/events (newest FEED_SETTLE_WINDOW only) after each mesh refresh
//     and updated in place.
//   - Controls POST /v1/peers/:name/{release,restart,check,silence} with the bearer token.
//
// The token is typed once into the token field and kept in sessionStorage only (this tab,
// gone when it closes): never in the URL, never in localStorage, never logged.
// Every piece of node data reaches the DOM through textContent or attribute setters; this
// file never assigns innerHTML.
/* global document, window, fetch, sessionStorage, clearTimeout, setInterval, TextDecoder, AbortController, HTMLElement, HTMLInputElement */

/** How often /v1/mesh is fetched, ms. */
const MESH_EVERY_MS = 2_000;
/** Deadline of one /v1/mesh or control request, ms. */
const REQUEST_TIMEOUT_MS = 5_000;
/** Most events kept in the feed. */
const FEED_MAX = 200;
/** Newest feed entries re-read while their result or deliveries are still open. */
const FEED_SETTLE_WINDOW = 50;
/** Actions whose entry gets a result once their effect has run. @type {ReadonlyArray<EscalationAction["action"]>} */
const EFFECTS = ["restart", "isolate", "release"];
/** Events replayed into the feed on load. */
const FEED_BACKFILL = 50;
/** Event stream reconnect delay, ms: the first, doubled after each failed attempt up to the most. */
const STREAM_BACKOFF_FIRST_MS = 1_000;
const STREAM_BACKOFF_MAX_MS = 10_000;
/** A stream that delivers no byte for this long is dropped and reopened, ms (the node sends a keep-alive every 15 s). */
const STREAM_IDLE_MS = 45_000;
/** How long a Release / Restart button waits for its confirming second click, ms. */
const CONFIRM_MS = 4_000;
/** Duration sent by the "Silence 1h" button. */
const SILENCE_FOR = "1h";
const TOKEN_KEY = "wdmesh.token";
/** @type {readonly PeerStatus[]} */
const STATUSES = ["UNKNOWN", "HEALTHY", "DEGRADED", "OFFLINE", "ISOLATED"];

// The API answers this file reads, typed by the server's own declarations (web/api-types.d.ts).
/** @typedef {import("./api-types.js").MeshView} MeshView GET /v1/mesh */
/** @typedef {import("./api-types.js").MeshMemberView} MeshMemberView */
/** @typedef {import("./api-types.js").PeerHealth} PeerHealth a peer in /v1/mesh; the answer of check and silence */
/** @typedef {import("./api-types.js").PeerStatus} PeerStatus */
/** @typedef {import("./api-types.js").EscalationAction} EscalationAction the answer of release and restart */
/** @typedef {import("./api-types.js").JournalEntry} JournalEntry GET /v1/events, and `escalation` events of the stream */
/** @typedef {import("./api-types.js").JournalDelivery} JournalDelivery */
/** @typedef {import("./api-types.js").ProbeBeat} ProbeBeat */
/** @typedef {import("./api-types.js").PeerBeat} PeerBeat `probe` events of the stream */
/** @typedef {import("./api-types.js").PeerHistory} PeerHistory GET /v1/peers/:name/history */
/** @typedef {import("./api-types.js").FleetStatusView} FleetStatusView GET /v1/fleet */

/**
 * The element of index.html with this id, checked to be a `kind` (HTMLElement by default).
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @param {{ new (): T, prototype: T }} [kind]
 * @returns {T}
 */
function $(id, kind) {
  const e = document.getElementById(id);
  const want = kind ?? HTMLElement;
  if (!(e instanceof want))
    throw new Error(`the page has no ${want.name} #${id} (index.html and dashboard.js disagree)`);
  return /** @type {T} */ (e);
}

/**
 * A peer's row in the peers table.
 * @typedef {{
 *   tr: HTMLTableRowElement,
 *   cells: Record<Column, HTMLTableCellElement>,
 *   buttons: Record<Op, HTMLButtonElement>,
 *   probes: ProbeBeat[],
 *   historyGen: number,
 *   silenced: boolean,
 * }} Row
 * probes: what the strip shows, oldest first; historyGen: when its history was read (0: never);
 * silenced: the peer is silenced now (its Silence button then ends the silence).
 */
/**
 * A Release / Restart button waiting for its confirming second click.
 * @typedef {{ button: HTMLButtonElement, label: string | null, timer: ReturnType<typeof setTimeout> }} PendingConfirm
 */

/**
 * @type {{
 *   mesh: MeshView | null, lastOkAt: number, meshProblem: string | null, readAuth: boolean,
 *   meshSoon: ReturnType<typeof setTimeout> | null,
 *   lastSeq: number, streamCtl: AbortController | null, rows: Map<string, Row>,
 *   confirm: PendingConfirm | null, entries: Map<number, JournalEntry>, settling: boolean, historyGen: number,
 * }}
 */
const state = {
  mesh: null,
  lastOkAt: 0,
  /** null when the node answers; else why it does not. */
  meshProblem: null,
  /** true while the read routes answer 401. */
  readAuth: false,
  meshSoon: null,
  lastSeq: 0,
  streamCtl: null,
  rows: new Map(),
  confirm: null,
  /** Feed entries shown, by seq. */
  entries: new Map(),
  settling: false,
  /** Bumped at each (re)connect of the stream: rows whose history is older are read again. */
  historyGen: 1,
};

// ---------------------------------------------------------------- token

function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? "";
  } catch {
    return "";
  }
}

/** @param {string} value the token; "" forgets it */
function setToken(value) {
  try {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the token then lives only until the next reload of this page
    memoryToken = value;
  }
  renderTokenState();
}
let memoryToken = "";
const token = () => getToken() || memoryToken;

/** @returns {Record<string, string>} */
function authHeaders() {
  const t = token();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

function renderTokenState() {
  $("token-state").textContent = token() ? "token set (this tab only)" : "no token";
}

// ---------------------------------------------------------------- DOM helpers

/**
 * createElement with text content and attributes; never parses HTML.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {{ cls?: string, text?: string | number, title?: string, attrs?: Record<string, string | number> }} [opts]
 * @param {Array<Node | string | null>} children null ones are skipped
 * @returns {HTMLElementTagNameMap[K]}
 */
function el(tag, opts = {}, ...children) {
  const e = document.createElement(tag);
  if (opts.cls) e.className = opts.cls;
  if (opts.text !== undefined) e.textContent = String(opts.text);
  if (opts.title) e.title = opts.title;
  for (const [k, v] of Object.entries(opts.attrs ?? {})) e.setAttribute(k, String(v));
  for (const c of children) if (c !== null) e.append(c);
  return e;
}

/**
 * Sets text (and title) only when they changed, so unchanged cells are not redrawn.
 * @param {HTMLElement} node
 * @param {string | number} text
 * @param {string} [title] unchanged when undefined
 */
function setText(node, text, title) {
  const t = String(text);
  if (node.textContent !== t) node.textContent = t;
  if (title !== undefined && node.title !== title) node.title = title;
}

/**
 * "5s ago", "in 3m", "never" (for null).
 * @param {string | null} iso
 * @param {number} now epoch ms
 */
function relTime(iso, now) {
  if (!iso) return "never";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return String(iso);
  const s = Math.round((now - t) / 1000);
  const abs = Math.abs(s);
  const span =
    abs < 60
      ? `${abs}s`
      : abs < 3600
        ? `${Math.floor(abs / 60)}m`
        : abs < 86_400
          ? `${Math.floor(abs / 3600)}h ${Math.floor((abs % 3600) / 60)}m`
          : `${Math.floor(abs / 86_400)}d`;
  if (abs <= 1) return "just now";
  return s >= 0 ? `${span} ago` : `in ${span}`;
}

/** @param {string | null} iso */
const fullTime = (iso) => {
  const t = Date.parse(iso ?? "");
  return Number.isNaN(t) ? "" : new Date(t).toLocaleString();
};
/** @param {string} iso */
const clockTime = (iso) => {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toLocaleTimeString([], { hour12: false });
};

/**
 * A status badge; a status this page does not know is styled as UNKNOWN but named as sent.
 * @param {string} status
 */
function badge(status) {
  return el("span", { cls: `badge st-${knownStatus(status).toLowerCase()}`, text: status });
}

/**
 * @param {string} status
 * @returns {PeerStatus}
 */
function knownStatus(status) {
  return STATUSES.find((s) => s === status) ?? "UNKNOWN";
}

// ---------------------------------------------------------------- HTTP

/**
 * @param {string} path
 * @param {RequestInit & { headers?: Record<string, string> }} [init]
 */
async function request(path, init = {}) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), REQUEST_TIMEOUT_MS);
  try {
    return await fetch(path, {
      cache: "no-store",
      ...init,
      headers: { ...authHeaders(), ...(init.headers ?? {}) },
      signal: ctl.signal,
    });
  } catch (e) {
    throw new Error(
      e && /** @type {{ name?: string }} */ (e).name === "AbortError"
        ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`
        : "connection failed",
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The node's own error message ({"error":{"code","message"}}), or the HTTP status.
 * @param {Response} res
 * @returns {Promise<string>}
 */
async function errorMessage(res) {
  try {
    const body = /** @type {{ error?: { message?: unknown } } | null} */ (await res.json());
    if (typeof body?.error?.message === "string") return body.error.message;
  } catch {
    // not JSON
  }
  return `HTTP ${res.status}`;
}

/**
 * `task` run one at a time: a call while it runs asks for one more run once it ends (the
 * calls made meanwhile come to that one run), so the last call always sees fresh data.
 * @param {() => Promise<void>} task must not reject
 * @returns {() => Promise<void>}
 */
function oneAtATime(task) {
  let busy = false;
  let again = false;
  return async () => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        await task();
      } while (again);
    } finally {
      busy = false;
    }
  };
}

// ---------------------------------------------------------------- mesh

/** GET /v1/mesh and redraw; or say why the node does not answer. */
const refreshMesh = oneAtATime(async () => {
  try {
    const res = await request("/v1/mesh");
    if (res.status === 401) {
      state.readAuth = true;
      state.meshProblem = null;
      renderBanner(await errorMessage(res));
      return;
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${await errorMessage(res)}`);
    state.mesh = /** @type {MeshView} */ (await res.json());
    state.lastOkAt = Date.now();
    state.meshProblem = null;
    state.readAuth = false;
    render();
    void settleFeed();
    void loadHistories();
    void refreshFleet();
  } catch (e) {
    state.meshProblem = e instanceof Error ? e.message : String(e);
    renderBanner();
  }
});

// ---------------------------------------------------------------- fleet

/** GET /v1/fleet with each mesh refresh, while the node is in a fleet (its /v1/mesh says `fleet`). */
const refreshFleet = oneAtATime(async () => {
  $("fleet").hidden = state.mesh?.fleet !== true;
  if (state.mesh?.fleet !== true) return;
  try {
    const res = await request("/v1/fleet");
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${await errorMessage(res)}`);
    renderFleet(/** @type {FleetStatusView} */ (await res.json()));
  } catch (e) {
    setText($("fleet-state"), `fleet state unavailable: ${e instanceof Error ? e.message : String(e)}`);
  }
});

/**
 * Hosts and their nodes, steps in progress with their tokens, unreachable hosts, and why
 * this node's coordinated steps are held (etcd unreachable), if they are.
 * @param {FleetStatusView} f
 */
function renderFleet(f) {
  $("fleet").hidden = false;
  const down = new Set(f.hosts_unreachable);
  const hosts = [...new Set([...f.members.map((m) => m.host), ...down])].sort();
  setText($("fleet-count"), `${hosts.length} hosts, ${f.members.length} nodes`);
  const line = $("fleet-state");
  line.className = `fleet-state ${f.held === null ? "ok" : "held"}`;
  setText(
    line,
    f.held === null
      ? `etcd ${f.etcd}: coordinated steps allowed (this node: ${f.node} on ${f.host})`
      : `steps held: ${f.held}`,
  );
  const rows = hosts.flatMap((host) => {
    const nodes = f.members.filter((m) => m.host === host);
    const steps = f.steps.filter((st) => st.host === host);
    const stepText = steps.map((st) => `${st.kind} ${st.peer} by ${st.node} (token ${st.token})`).join("; ");
    if (nodes.length === 0)
      return [
        el(
          "tr",
          { cls: "fleet-down" },
          el("th", { text: host, attrs: { scope: "row", "data-label": "Host" } }),
          el("td", { text: "no live node", attrs: { "data-label": "Node" } }),
          el("td", { attrs: { "data-label": "State" } }, badge(down.has(host) ? "OFFLINE" : "UNKNOWN")),
          el("td", { text: stepText, attrs: { "data-label": "Step in progress" } }),
        ),
      ];
    return nodes.map((m) =>
      el(
        "tr",
        {},
        el("th", { text: host, attrs: { scope: "row", "data-label": "Host" } }),
        el("td", { text: m.node, title: m.url ?? "", attrs: { "data-label": "Node" } }),
        el("td", { attrs: { "data-label": "State" } }, badge("HEALTHY")),
        el("td", { text: stepText, attrs: { "data-label": "Step in progress" } }),
      ),
    );
  });
  $("fleet-body").replaceChildren(...rows);
}

// ---------------------------------------------------------------- probe history

const SVG_NS = "http://www.w3.org/2000/svg";
/** Beats drawn per peer (the node keeps as many). */
const BEATS = 60;

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attrs
 * @returns {SVGElement}
 */
function svg(tag, attrs) {
  const e = /** @type {SVGElement} */ (document.createElementNS(SVG_NS, tag));
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/**
 * A probe's identity, to merge the history with the beats the stream already brought.
 * @param {ProbeBeat} p
 */
const beatKey = (p) => `${p.at}|${p.result}|${p.duration_ms}`;

/**
 * Reads the recent probes (GET /v1/peers/:name/history) of each row whose history is not
 * from the current stream connection, merges them with the beats streamed meanwhile, and
 * draws them.
 */
const loadHistories = oneAtATime(async () => {
  for (const [name, row] of state.rows) {
    const gen = state.historyGen;
    if (row.historyGen === gen) continue;
    /** @type {PeerHistory} */
    let body;
    try {
      const res = await request(`/v1/peers/${encodeURIComponent(name)}/history`);
      if (!res.ok) continue;
      body = /** @type {PeerHistory} */ (await res.json());
    } catch {
      continue; // read again at the next mesh refresh
    }
    if (state.rows.get(name) !== row) continue;
    /** @type {Map<string, ProbeBeat>} */
    const known = new Map();
    for (const p of [...body.probes, ...row.probes]) known.set(beatKey(p), p);
    row.probes = [...known.values()].sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : 0)).slice(-BEATS);
    row.historyGen = gen;
    drawHistory(row.cells.recent, row.probes);
  }
});

/**
 * A probe result from the stream: appended to its peer's strip at once.
 * @param {PeerBeat} p
 */
function addProbe(p) {
  const row = state.rows.get(p.peer);
  if (!row) return;
  row.probes.push(p);
  if (row.probes.length > BEATS) row.probes.splice(0, row.probes.length - BEATS);
  drawHistory(row.cells.recent, row.probes);
}

/**
 * The last probes as a strip of coloured beats (green ok, red miss, grey could not tell)
 * over a latency sparkline of the successful ones; inline SVG, no framework.
 * @param {HTMLElement} cell
 * @param {ProbeBeat[]} probes oldest first
 */
function drawHistory(cell, probes) {
  const last = probes.slice(-BEATS);
  const w = BEATS * 4;
  const root = svg("svg", {
    class: "history",
    viewBox: `0 0 ${w} 34`,
    width: w / 2,
    height: 17,
    role: "img",
    "aria-label": `last ${last.length} probes: ${last.filter((p) => p.result === "ok").length} ok`,
  });
  const offset = BEATS - last.length; // newest on the right
  last.forEach((p, i) => {
    const kind = p.result;
    const beat = svg("rect", {
      class: `beat beat-${kind}`,
      x: (offset + i) * 4,
      y: 0,
      width: 3,
      height: 16,
      rx: 1,
    });
    const tip = svg("title", {});
    tip.textContent = `${p.at}: ${kind}, ${p.duration_ms} ms${p.error ? ` (${p.error})` : ""}`;
    beat.append(tip);
    root.append(beat);
  });
  const ok = last.map((p, i) => ({ i, ms: p.duration_ms, ok: p.result === "ok" })).filter((p) => p.ok);
  if (ok.length > 0) {
    const max = Math.max(1, ...ok.map((p) => p.ms));
    const points = ok
      .map((p) => `${(offset + p.i) * 4 + 1.5},${(33 - (p.ms / max) * 14).toFixed(1)}`)
      .join(" ");
    const line = svg("polyline", { class: "spark", points });
    const tip = svg("title", {});
    tip.textContent = `latency of the ok probes, max ${max} ms`;
    line.append(tip);
    root.append(line);
  }
  cell.replaceChildren(root);
}

/** Coalesces bursts (a replay of many events) into one refresh. */
function refreshMeshSoon() {
  if (state.meshSoon !== null) return;
  state.meshSoon = setTimeout(() => {
    state.meshSoon = null;
    void refreshMesh();
  }, 100);
}

/** @param {string} [authMessage] the node's answer to a read without (the right) token */
function renderBanner(authMessage) {
  const banner = $("banner");
  const conn = $("conn");
  document.body.classList.toggle("stale", state.meshProblem !== null || state.readAuth);
  if (state.readAuth) {
    banner.hidden = false;
    banner.className = "banner warn";
    banner.textContent =
      `This node requires a token to read (node.read_token): enter it in the API token field above.` +
      (authMessage ? ` The node said: ${authMessage}` : "");
    conn.className = "conn conn-auth";
    conn.textContent = "token needed";
  } else if (state.meshProblem !== null) {
    banner.hidden = false;
    banner.className = "banner error";
    const age = state.lastOkAt
      ? ` The data below is from ${relTime(new Date(state.lastOkAt).toISOString(), Date.now()).replace(" ago", "")} ago.`
      : "";
    banner.textContent = `Cannot reach the node at ${window.location.host} (${state.meshProblem}). Retrying every ${MESH_EVERY_MS / 1000} s.${age}`;
    conn.className = "conn conn-down";
    conn.textContent = "unreachable";
  } else {
    banner.hidden = true;
    banner.textContent = "";
    conn.className = "conn conn-up";
    conn.textContent = "live";
  }
}

function render() {
  const mesh = state.mesh;
  if (!mesh) return;
  const now = Date.now();
  renderBanner();
  setText($("node-name"), mesh.node);
  document.title = `wdmesh · ${mesh.node}`;
  setText($("updated"), `updated ${new Date(state.lastOkAt).toLocaleTimeString([], { hour12: false })}`);
  renderPeers(mesh.peers, now);
  renderMembers(mesh.members, now);
  renderStats(mesh.stats, mesh.scheduler, mesh.peers.length, mesh.members.length);
  renderSelfHealth(mesh.self_health);
}

/**
 * The node's own health: a badge beside its name while it is overloaded (it holds
 * remediation then), hidden while it is well.
 * @param {MeshView["self_health"]} sh
 */
function renderSelfHealth(sh) {
  const b = $("self-health");
  const degraded = sh?.status === "degraded";
  b.hidden = !degraded;
  if (!degraded || !sh) return;
  setText(b, "overloaded: remediation held");
  b.title = `loop delay p99 ${sh.loop_delay_p99_ms} ms, probe lateness p99 ${sh.lateness_p99_ms} ms`;
}

// ---------------------------------------------------------------- peers

/** The peers table's columns: the cell's class (c-NAME) and its label (index.html's header). */
const COLUMNS = /** @type {const} */ ([
  ["name", "Peer"],
  ["status", "Status"],
  ["recent", "Recent probes"],
  ["misses", "Misses"],
  ["restarts", "Restarts"],
  ["seen", "Last seen"],
  ["latency", "Latency"],
  ["error", "Last error"],
  ["owner", "Owner"],
  ["silenced", "Silenced until"],
  ["actions", "Actions"],
]);
/** @typedef {(typeof COLUMNS)[number][0]} Column */
/** @typedef {"release" | "restart" | "check" | "silence"} Op the control routes: POST /v1/peers/:name/OP */
/** @typedef {{ op: Op, label: string, confirm: boolean }} OpSpec confirm: needs a second click */
/** @type {readonly OpSpec[]} */
const OPS = [
  { op: "release", label: "Release", confirm: true },
  { op: "restart", label: "Restart", confirm: true },
  { op: "check", label: "Check", confirm: false },
  { op: "silence", label: "Silence 1h", confirm: false },
];

/**
 * @param {string} name
 * @returns {Row}
 */
function makeRow(name) {
  const tr = el("tr");
  tr.dataset.peer = name;
  // filled with every column (and every op) right below
  const cells = /** @type {Record<Column, HTMLTableCellElement>} */ ({});
  for (const [c, label] of COLUMNS) {
    const cell = el(c === "name" ? "th" : "td", { cls: `c-${c}` });
    if (c === "name") cell.setAttribute("scope", "row");
    cell.dataset.label = label;
    cells[c] = cell;
    tr.append(cell);
  }
  const buttons = /** @type {Record<Op, HTMLButtonElement>} */ ({});
  const group = el("div", { cls: "ops", attrs: { role: "group", "aria-label": `Controls for ${name}` } });
  for (const spec of OPS) {
    const b = el("button", { cls: `op op-${spec.op}`, text: spec.label, attrs: { type: "button" } });
    b.dataset.op = spec.op;
    b.addEventListener("click", () => onOp(name, spec, b));
    buttons[spec.op] = b;
    group.append(b);
  }
  cells.actions.append(group);
  return { tr, cells, buttons, probes: [], historyGen: 0, silenced: false };
}

/**
 * Updates the peers table in place: one row per peer, in the API's order.
 * @param {PeerHealth[]} peers
 * @param {number} now epoch ms
 */
function renderPeers(peers, now) {
  const body = $("peers-body");
  setText($("peer-count"), `(${peers.length})`);
  /** @type {Set<string>} */
  const seen = new Set();
  /** @type {HTMLTableRowElement | null} */
  let prev = null;
  for (const p of peers) {
    const name = p.name;
    seen.add(name);
    let row = state.rows.get(name);
    if (!row) {
      row = makeRow(name);
      state.rows.set(name, row);
    }
    // keep table order = API order, moving rows only when needed (keeps focus on buttons)
    /** @type {ChildNode | null} */
    const want = prev ? prev.nextSibling : body.firstChild;
    if (want !== row.tr) body.insertBefore(row.tr, want);
    prev = row.tr;
    updateRow(row, p, now);
  }
  for (const [name, row] of state.rows) {
    if (!seen.has(name)) {
      row.tr.remove();
      state.rows.delete(name);
    }
  }
  if (peers.length === 0 && !body.querySelector(".empty")) {
    body.append(
      el(
        "tr",
        { cls: "empty" },
        el("td", { text: "This node watches no peers.", attrs: { colspan: COLUMNS.length } }),
      ),
    );
  } else if (peers.length > 0) {
    body.querySelector(".empty")?.remove();
  }
}

/**
 * @param {Row} row
 * @param {PeerHealth} p
 * @param {number} now epoch ms
 */
function updateRow(row, p, now) {
  const c = row.cells;
  const status = knownStatus(p.status);
  row.tr.className = `st-row-${status.toLowerCase()}`;
  setText(c.name, p.name, p.endpoint ? `probe: ${p.endpoint}` : "");
  const b = c.status.firstChild;
  if (!b || b.textContent !== p.status) c.status.replaceChildren(badge(p.status));
  setText(c.misses, p.missed_count);
  setText(c.restarts, p.restart_count, p.last_restart ? `last restart ${fullTime(p.last_restart)}` : "");
  setText(c.seen, relTime(p.last_seen, now), p.last_seen ? fullTime(p.last_seen) : "");
  setText(c.latency, p.last_seen ? `${p.response_time_ms} ms` : "—");
  // A peer whose dependency fails is shown under that root's incident.
  const root = p.root_cause;
  if (root)
    setText(
      c.error,
      `under ${root.peer}: ${p.last_error ?? ""}`,
      `fails while its dependency ${root.peer} fails; part of incident ${root.incident_id ?? "(none)"}`,
    );
  else setText(c.error, p.last_error ?? "", p.last_error ?? "");
  setText(c.owner, p.owner ?? "—");
  const until = p.silenced_until;
  const silenced = until !== null && Date.parse(until) > now;
  setText(c.silenced, silenced ? relTime(until, now) : "—", silenced ? fullTime(until) : "");
  row.silenced = silenced;
  const sb = row.buttons.silence;
  if (!sb.disabled && !(state.confirm && state.confirm.button === sb))
    setText(sb, silenced ? "Unsilence" : "Silence 1h");
  // Release undoes an isolation or closes an open incident: offered only where there is one.
  row.buttons.release.hidden = !(status === "ISOLATED" || p.incident_id !== null);
  row.buttons.release.classList.toggle("hot", status === "ISOLATED");
}

// ---------------------------------------------------------------- controls

/**
 * The line under the header that reports what a control did.
 * @param {string} text
 * @param {"busy" | "ok" | "error"} kind
 */
function showOp(text, kind) {
  const s = $("op-status");
  s.className = `op-status ${kind}`;
  s.textContent = text;
}

/**
 * Why a control was refused (401 or 403), and what to do about it.
 * @param {number} status
 * @param {string} message the node's own words
 */
function controlRefusal(status, message) {
  if (status === 403)
    return `control endpoints are disabled: set node.api_token in this node's config (${message})`;
  if (!token())
    return `enter the API token (node.api_token) in the field above to use the controls (${message})`;
  return `the API token was refused (401): it must equal node.api_token of this node (${message})`;
}

function resetConfirm() {
  if (!state.confirm) return;
  clearTimeout(state.confirm.timer);
  const { button, label } = state.confirm;
  button.classList.remove("confirming");
  button.textContent = label;
  state.confirm = null;
}

/**
 * A click on a control: Release and Restart ask for a second click first.
 * @param {string} name the peer
 * @param {OpSpec} spec
 * @param {HTMLButtonElement} button
 */
function onOp(name, spec, button) {
  if (button.disabled) return;
  if (spec.confirm && !(state.confirm && state.confirm.button === button)) {
    resetConfirm();
    const label = button.textContent;
    button.textContent = `Confirm ${spec.op}?`;
    button.classList.add("confirming");
    state.confirm = { button, label, timer: setTimeout(resetConfirm, CONFIRM_MS) };
    return;
  }
  resetConfirm();
  void runOp(name, spec, button);
}

/**
 * POST /v1/peers/:name/OP with the token, and says how it went.
 * @param {string} name the peer
 * @param {OpSpec} spec
 * @param {HTMLButtonElement} button
 */
async function runOp(name, spec, button) {
  const unsilence = spec.op === "silence" && state.rows.get(name)?.silenced === true;
  const what = unsilence ? "unsilence" : spec.op;
  button.disabled = true;
  showOp(`${what} ${name}: sending…`, "busy");
  try {
    /** @type {RequestInit & { headers?: Record<string, string> }} */
    const init = { method: "POST" };
    if (spec.op === "silence") {
      init.headers = { "Content-Type": "application/json" };
      init.body = JSON.stringify({ for: unsilence ? "0" : SILENCE_FOR });
    }
    const res = await request(`/v1/peers/${encodeURIComponent(name)}/${spec.op}`, init);
    if (res.status === 401 || res.status === 403) {
      showOp(`${what} ${name} refused: ${controlRefusal(res.status, await errorMessage(res))}`, "error");
      return;
    }
    if (!res.ok) {
      showOp(`${what} ${name} failed (HTTP ${res.status}): ${await errorMessage(res)}`, "error");
      return;
    }
    const outcome = describeOutcome(spec.op, await res.json(), unsilence);
    showOp(`${what} ${name}: ${outcome.text}`, outcome.failed ? "error" : "ok");
  } catch (e) {
    showOp(`${what} ${name}: ${e instanceof Error ? e.message : String(e)}`, "error");
  } finally {
    button.disabled = false;
    void refreshMesh();
  }
}

/**
 * What a control's answer says, in words, and whether its effect failed.
 * @param {Op} op
 * @param {unknown} out the answer: the peer's health after check and silence, the action for release and restart
 * @param {boolean} unsilence
 * @returns {{ text: string, failed: boolean }}
 */
function describeOutcome(op, out, unsilence) {
  if (op === "check" || op === "silence") {
    const h = /** @type {PeerHealth} */ (out);
    if (op === "check")
      return { text: `probed: ${h.status}${h.last_error ? ` (${h.last_error})` : ""}`, failed: false };
    return {
      text: unsilence ? "silence ended" : `silenced until ${fullTime(h.silenced_until)}`,
      failed: false,
    };
  }
  const a = /** @type {EscalationAction} */ (out);
  const r = a.result;
  if (r?.ok === false) return { text: `${a.action} failed: ${r.error ?? "no reason given"}`, failed: true };
  return { text: `${a.action} done${r?.detail ? ` (${r.detail})` : ""}`, failed: false };
}

// ---------------------------------------------------------------- members and stats

/**
 * @param {MeshMemberView[]} members
 * @param {number} now epoch ms
 */
function renderMembers(members, now) {
  const body = $("members-body");
  const rows = members.map((m) =>
    el(
      "tr",
      {},
      el("th", { text: m.name, title: m.url, attrs: { scope: "row", "data-label": "Member" } }),
      el("td", { attrs: { "data-label": "Status" } }, badge(m.status)),
      el("td", {
        text: relTime(m.last_seen, now),
        title: fullTime(m.last_seen),
        attrs: { "data-label": "Last seen" },
      }),
      el("td", {
        text: typeof m.view_age_ms === "number" ? fmtMs(m.view_age_ms) : "no view",
        attrs: { "data-label": "View age" },
      }),
    ),
  );
  if (rows.length === 0)
    rows.push(
      el(
        "tr",
        { cls: "empty" },
        el("td", { text: "Not in a mesh (no mesh.members).", attrs: { colspan: 4 } }),
      ),
    );
  body.replaceChildren(...rows);
}

/** @param {number} ms */
function fmtMs(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/**
 * One figure of a stats list.
 * @param {string} label
 * @param {string | number} value
 * @param {string} [title]
 */
function stat(label, value, title) {
  return [
    el("div", { cls: "stat" }, el("dt", { text: label }), el("dd", { text: value, title: title ?? "" })),
  ];
}

/**
 * @param {MeshView["stats"]} s
 * @param {MeshView["scheduler"]} sched absent on a node that does not report it
 * @param {number} peerCount rows of the peers table
 * @param {number} memberCount rows of the members table
 */
function renderStats(s, sched, peerCount, memberCount) {
  $("stats").replaceChildren(
    ...stat("checks", s.total_checks),
    ...stat("misses", s.total_misses),
    ...stat(
      "inconclusive",
      s.inconclusive_checks,
      "probes that could not tell, for this node's own trouble: counted in checks, never in misses",
    ),
    ...stat("restarts", s.total_restarts),
    ...stat("isolations", s.total_isolations),
    // The same counts as the tables below (stats.peer_count also counts mesh members).
    ...stat("peers", peerCount),
    ...stat("members", memberCount),
    ...stat(
      "up",
      s.started_at ? relTime(s.started_at, Date.now()).replace(" ago", "") : "?",
      s.started_at ? `running since ${fullTime(s.started_at)}` : "",
    ),
  );
  if (!sched) {
    $("sched").replaceChildren(...stat("lateness", "not reported"));
    return;
  }
  const l = sched.lateness;
  $("sched").replaceChildren(
    ...stat("in flight", sched.in_flight),
    ...stat("queued", sched.queued),
    ...stat("late p50", `${l.p50_ms} ms`),
    ...stat("late p99", `${l.p99_ms} ms`),
    ...stat("late max", `${l.max_ms} ms`, `over the last ${l.samples} probes`),
  );
}

// ---------------------------------------------------------------- event feed

/** @param {string} text how the event stream is doing */
function setFeedState(text) {
  setText($("feed-state"), text);
}

/**
 * Where an entry's alerts stand (pending, delivered, dead), or null when it has none.
 * @param {JournalDelivery[] | undefined} deliveries
 */
function deliveriesNode(deliveries) {
  if (deliveries === undefined || deliveries.length === 0) return null;
  const n = { pending: 0, delivered: 0, dead: 0 };
  for (const d of deliveries) n[d.state] += 1;
  const span = el("span", { cls: "ev-deliv" });
  const dead = deliveries.filter((d) => d.state === "dead");
  if (n.dead)
    span.append(
      el("span", {
        cls: "dl-dead",
        text: `${n.dead} dead`,
        title: dead.map((d) => `${d.sink}: ${d.last_error ?? "?"}`).join("\n"),
      }),
      " ",
    );
  if (n.pending) span.append(el("span", { cls: "dl-pending", text: `${n.pending} pending` }), " ");
  if (n.delivered) span.append(el("span", { cls: "dl-ok", text: `${n.delivered} delivered` }));
  span.title = deliveries.map((d) => `${d.sink}: ${d.state}`).join("\n");
  return el("span", { cls: "ev-field" }, "alerts: ", span);
}

/**
 * One entry of the feed.
 * @param {JournalEntry} e
 */
function eventItem(e) {
  const sev = e.severity;
  const li = el("li", { cls: `ev sev-${sev.toLowerCase()}` });
  li.dataset.seq = String(e.seq);
  const head = el(
    "div",
    { cls: "ev-head" },
    el("time", {
      text: clockTime(e.timestamp),
      title: fullTime(e.timestamp),
      attrs: { datetime: e.timestamp },
    }),
    el("span", { cls: `sev sev-${sev.toLowerCase()}`, text: sev }),
    el("span", { cls: "ev-action", text: e.action }),
    el("span", { cls: "ev-peer", text: e.peer_name }),
  );
  if (e.result) {
    head.append(
      el("span", {
        cls: e.result.ok ? "ev-ok" : "ev-failed",
        text: e.result.ok ? "ok" : `failed${e.result.error ? `: ${e.result.error}` : ""}`,
        title: e.result.detail ?? "",
      }),
    );
  }
  const d = deliveriesNode(e.deliveries);
  if (d) head.append(d);
  if (state.mesh && e.node && e.node !== state.mesh.node)
    head.append(el("span", { cls: "ev-node", text: `by ${e.node}` }));
  li.append(head, el("div", { cls: "ev-reason", text: e.reason }));
  return li;
}

/**
 * An entry from the stream or the backfill, put in seq order (newest first); the oldest
 * beyond FEED_MAX are dropped.
 * @param {JournalEntry} e
 */
function addEvent(e) {
  if (typeof e !== "object" || e === null || typeof e.seq !== "number") return;
  if (e.seq > state.lastSeq) state.lastSeq = e.seq;
  const list = $("events");
  if (state.entries.has(e.seq)) return;
  let before = /** @type {HTMLElement | null} */ (list.firstElementChild);
  while (before && Number(before.dataset.seq) > e.seq)
    before = /** @type {HTMLElement | null} */ (before.nextElementSibling);
  list.insertBefore(eventItem(e), before);
  state.entries.set(e.seq, e);
  for (
    let last = list.lastElementChild;
    last && list.children.length > FEED_MAX;
    last = list.lastElementChild
  ) {
    state.entries.delete(Number(/** @type {HTMLElement} */ (last).dataset.seq));
    last.remove();
  }
  list.querySelector(".empty")?.remove();
}

/**
 * The entry may still change: its effect has no result yet, or an alert is still pending.
 * @param {JournalEntry} e
 */
const unsettled = (e) =>
  (EFFECTS.includes(e.action) && !e.result) || (e.deliveries ?? []).some((d) => d.state === "pending");

/** Re-reads the newest entries whose result or deliveries were still open, and redraws those that changed. */
async function settleFeed() {
  if (state.settling) return;
  const open = [...state.entries.values()]
    .sort((a, b) => b.seq - a.seq)
    .slice(0, FEED_SETTLE_WINDOW)
    .filter(unsettled)
    .map((e) => e.seq);
  if (open.length === 0) return;
  state.settling = true;
  try {
    const from = Math.min(...open);
    const res = await request(
      `/v1/events?after=${from - 1}&limit=${Math.min(1000, Math.max(...open) - from + 1)}`,
    );
    if (!res.ok) return;
    const list = $("events");
    for (const e of /** @type {JournalEntry[]} */ (await res.json())) {
      const old = state.entries.get(e.seq);
      if (
        !old ||
        JSON.stringify(old.result) + JSON.stringify(old.deliveries) ===
          JSON.stringify(e.result) + JSON.stringify(e.deliveries)
      )
        continue;
      const li = [...list.children].find((c) => Number(/** @type {HTMLElement} */ (c).dataset.seq) === e.seq);
      if (!li) continue;
      state.entries.set(e.seq, e);
      li.replaceWith(eventItem(e));
    }
  } catch {
    // the next mesh refresh tries again
  } finally {
    state.settling = false;
  }
}

/** Newest journal seq: /v1/events?after=N&limit=1 is empty iff N >= it, so gallop then bisect. */
async function newestSeq() {
  /** @param {number} n */
  const has = async (n) => {
    const res = await request(`/v1/events?after=${n}&limit=1`);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return /** @type {JournalEntry[]} */ (await res.json()).length > 0;
  };
  if (!(await has(0))) return 0;
  let lo = 0;
  let hi = 1;
  while (hi < Number.MAX_SAFE_INTEGER && (await has(hi))) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await has(mid)) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * Reads a text/event-stream body, calling onEvent(id, type, data) per event. Resolves when it ends.
 * @param {ReadableStream<Uint8Array>} body
 * @param {(id: string, type: string, data: string) => void} onEvent
 * @param {() => void} onBytes called for every chunk read (the stream is alive)
 */
async function readSse(body, onEvent, onBytes) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  let data = [];
  let type = "";
  let id = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    onBytes();
    buf += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
      if (buf[nl] === "\r" && nl === buf.length - 1) break; // maybe \r\n split across chunks
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + (buf.startsWith("\r\n", nl) ? 2 : 1));
      if (line === "") {
        if (data.length > 0) onEvent(id, type || "message", data.join("\n"));
        data = [];
        type = "";
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") data.push(value);
      else if (field === "event") type = value;
      else if (field === "id") id = value;
    }
  }
}

/** Waits ms, or less when restartStream() wakes it. @type {(() => void) | null} */
let wakeStream = null;
/** @param {number} ms */
const nap = (ms) =>
  new Promise(
    /** @param {(value?: undefined) => void} resolve */
    (resolve) => {
      const t = setTimeout(resolve, ms);
      wakeStream = () => {
        clearTimeout(t);
        resolve();
      };
    },
  );

async function streamLoop() {
  let backoff = STREAM_BACKOFF_FIRST_MS;
  let backfilled = false;
  for (;;) {
    const ctl = new AbortController();
    state.streamCtl = ctl;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let idle;
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => ctl.abort(), STREAM_IDLE_MS);
    };
    try {
      if (!backfilled) {
        const newest = await newestSeq();
        state.lastSeq = Math.max(state.lastSeq, newest - FEED_BACKFILL);
        backfilled = true;
      }
      touch();
      const res = await fetch(`/v1/events/stream?after=${state.lastSeq}&probes=1`, {
        headers: { ...authHeaders(), Accept: "text/event-stream" },
        cache: "no-store",
        signal: ctl.signal,
      });
      if (res.status === 401) {
        await res.body?.cancel();
        setFeedState("— needs the read token");
      } else if (!res.ok || !res.body) {
        await res.body?.cancel();
        setFeedState(`— stream refused (HTTP ${res.status}), retrying`);
      } else {
        setFeedState("— live");
        backoff = STREAM_BACKOFF_FIRST_MS;
        // Probes from now on come over the stream; what came before (or while it was
        // down) is read from each peer's history.
        state.historyGen += 1;
        void loadHistories();
        await readSse(
          res.body,
          (_id, type, data) => {
            if (type === "probe") {
              try {
                addProbe(/** @type {PeerBeat} */ (JSON.parse(data)));
              } catch {
                // not a probe result
              }
              return;
            }
            if (type !== "escalation") return;
            try {
              addEvent(/** @type {JournalEntry} */ (JSON.parse(data)));
            } catch {
              return;
            }
            refreshMeshSoon();
          },
          touch,
        );
        setFeedState("— stream ended, reconnecting");
      }
    } catch {
      setFeedState(
        ctl.signal.aborted && state.streamCtl !== ctl ? "— reconnecting" : "— disconnected, reconnecting",
      );
    } finally {
      clearTimeout(idle);
    }
    if (state.streamCtl === ctl) {
      await nap(backoff);
      wakeStream = null;
      backoff =
        state.streamCtl === ctl ? Math.min(backoff * 2, STREAM_BACKOFF_MAX_MS) : STREAM_BACKOFF_FIRST_MS;
    } else {
      backoff = STREAM_BACKOFF_FIRST_MS;
    }
  }
}

/** Reopens the stream now (after a token change). */
function restartStream() {
  const ctl = state.streamCtl;
  state.streamCtl = null;
  ctl?.abort();
  wakeStream?.();
}

// ---------------------------------------------------------------- start

function start() {
  renderTokenState();
  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $("token-input", HTMLInputElement);
    const value = input.value.trim();
    input.value = "";
    setToken(value);
    showOp(value ? "token set for this tab; it is sent only to this node" : "token cleared", "ok");
    void refreshMesh();
    restartStream();
  });
  $("token-forget").addEventListener("click", () => {
    setToken("");
    showOp("token forgotten", "ok");
    void refreshMesh();
    restartStream();
  });
  $("events").append(el("li", { cls: "empty", text: "No events yet." }));
  void refreshMesh();
  setInterval(() => void refreshMesh(), MESH_EVERY_MS);
  void streamLoop();
}

start();
