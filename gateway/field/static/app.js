// 现场检查 Field inspection: an offline-first app for the zone's inspectors. No framework:
// IndexedDB holds the inspector's tasks, checklists and enterprises (downloaded with
// /v1/sync), the photos taken (hashed with SubtleCrypto SHA-256) and a queue of results and
// confirmations made offline; the queue goes to /v1/evidence and /v1/sync when online.
// Every text is set with textContent: nothing from the API is parsed as HTML.
"use strict";

const DB_NAME = "zone-field";
const STORES = ["kv", "tasks", "checklists", "enterprises", "queue", "photos"];
// [code, zh-CN, English] of outcomes and verdicts, from kit/vocabulary (/field/words.json)
let OUTCOMES = [];
let VERDICTS = [];
const STATES = {
  pending: ["待同步", "pending"],
  conflict: ["冲突", "conflict"],
  rejected: ["被拒绝", "rejected"],
};

let db;
let location_ = null;

// -- DOM --------------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "on") for (const [event, fn] of Object.entries(value)) node.addEventListener(event, fn);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// China time (Asia/Shanghai) for people, whatever the device's zone, as every front end shows
function chinaTime(when) {
  return new Date(when).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hourCycle: "h23" });
}

// zh-CN first, English after, as the platform's other front ends
function both(zh, en) {
  return [zh, " ", el("small", { lang: "en" }, en)];
}

function show(...nodes) {
  const main = document.getElementById("app");
  main.replaceChildren(...nodes);
}

// -- IndexedDB --------------------------------------------------------------------------

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      const d = request.result;
      d.createObjectStore("kv");
      d.createObjectStore("tasks", { keyPath: "id" });
      d.createObjectStore("checklists", { keyPath: "id" });
      d.createObjectStore("enterprises", { keyPath: "uscc" });
      d.createObjectStore("queue", { keyPath: "id", autoIncrement: true });
      d.createObjectStore("photos", { keyPath: "sha256" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function tx(store, mode, fn) {
  return new Promise((resolve, reject) => {
    const t = db.transaction(store, mode);
    let out;
    const request = fn(t.objectStore(store));
    if (request) request.onsuccess = () => (out = request.result);
    t.oncomplete = () => resolve(out);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}
const idbGet = (store, key) => tx(store, "readonly", (s) => s.get(key));
const idbAll = (store) => tx(store, "readonly", (s) => s.getAll());
const idbPut = (store, value, key) =>
  tx(store, "readwrite", (s) => (key === undefined ? s.put(value) : s.put(value, key)));
const idbDelete = (store, key) => tx(store, "readwrite", (s) => s.delete(key));

// -- the API ----------------------------------------------------------------------------

class SignedOut extends Error {}

async function api(method, path, { json, body, headers = {} } = {}) {
  const session = await idbGet("kv", "session");
  if (!session || session.expires_at < Date.now()) throw new SignedOut();
  const sent = { ...headers, Authorization: `Bearer ${session.access_token}` };
  if (json !== undefined) {
    sent["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  const response = await fetch(path, { method, headers: sent, body });
  if (response.status === 401) {
    await idbDelete("kv", "session");
    throw new SignedOut();
  }
  return response;
}

async function problem(response) {
  try {
    const body = await response.json();
    return body.detail || body.title || String(response.status);
  } catch {
    return String(response.status);
  }
}

// -- sign in ----------------------------------------------------------------------------

function signInPage(message) {
  const error = el("p", { class: "error", role: "alert" }, message || "");
  const form = el(
    "form",
    { id: "sign-in", on: { submit: signIn } },
    el("h2", {}, both("检查员登录", "Inspector sign-in")),
    el("label", { class: "block", for: "username" }, both("用户名", "User name")),
    el("input", { id: "username", name: "username", type: "text", autocomplete: "username", required: true }),
    el("label", { class: "block", for: "password" }, both("密码", "Password")),
    el("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true }),
    error,
    el("button", { type: "submit" }, both("登录", "Sign in")),
  );
  show(form);

  async function signIn(event) {
    event.preventDefault();
    const data = new FormData(form);
    const response = await fetch("/oauth/token", {
      method: "POST",
      body: new URLSearchParams({ grant_type: "password", username: data.get("username"), password: data.get("password") }),
    });
    const answer = await response.json();
    if (!response.ok || !answer.access_token) {
      error.textContent = answer.error_description || answer.detail || "登录失败 Sign-in failed";
      return;
    }
    const previous = await idbGet("kv", "session");
    if (previous && previous.username !== data.get("username")) {
      // another officer on this device: their data is not this one's
      for (const store of ["tasks", "checklists", "enterprises"]) await tx(store, "readwrite", (s) => s.clear());
      await idbDelete("kv", "cursor");
    }
    await idbPut(
      "kv",
      {
        access_token: answer.access_token,
        expires_at: Date.now() + (answer.expires_in - 30) * 1000,
        username: data.get("username"),
        inspector_id: claims(answer.access_token).inspector_id || null,
      },
      "session",
    );
    try {
      await download();
    } catch (failure) {
      await idbDelete("kv", "session");
      error.textContent = `未能下载任务 Tasks not downloaded: ${failure.message}`;
      return;
    }
    await render();
  }
}

// -- download (/v1/sync) ------------------------------------------------------------------

async function download() {
  let cursor = (await idbGet("kv", "cursor")) || "";
  for (;;) {
    const response = await api("GET", `/v1/sync${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`);
    if (!response.ok) throw new Error(await problem(response));
    const page = await response.json();
    for (const task of page.tasks) await idbPut("tasks", task);
    for (const id of page.deleted) await idbDelete("tasks", id);
    for (const checklist of page.checklists) await idbPut("checklists", checklist);
    for (const enterprise of page.enterprises) await idbPut("enterprises", enterprise);
    cursor = page.cursor;
    await idbPut("kv", cursor, "cursor");
    if (!page.has_more) break;
  }
  await idbPut("kv", new Date().toISOString(), "downloaded_at");
}

// -- pages --------------------------------------------------------------------------------

async function render() {
  const session = await idbGet("kv", "session");
  if (!session) return signInPage();
  await taskList();
  await renderQueue();
}

async function taskList() {
  const [tasks, enterprises, queue, session] = await Promise.all([
    idbAll("tasks"),
    idbAll("enterprises"),
    idbAll("queue"),
    idbGet("kv", "session"),
  ]);
  const names = Object.fromEntries(enterprises.map((e) => [e.uscc, e.name]));
  const queued = new Set(queue.map((op) => op.task_id));
  const open = tasks.filter((t) => t.status === "open");
  const downloaded = await idbGet("kv", "downloaded_at");
  show(
    el(
      "div",
      { class: "row" },
      el("p", { class: "muted" }, `${session.username} · `, both("已下载", "downloaded"), " ", downloaded ? chinaTime(downloaded) : "—"),
      el("button", { type: "button", class: "secondary", id: "refresh", on: { click: refresh } }, both("更新任务", "Refresh tasks")),
      el("button", { type: "button", class: "secondary", on: { click: signOut } }, both("退出", "Sign out")),
    ),
    el("h2", {}, both("我的检查任务", "My tasks"), " ", el("span", { class: "badge zero", id: "task-count" }, open.length)),
    open.length
      ? el(
          "ul",
          { id: "tasks" },
          open.map((task) =>
            el(
              "li",
              { class: "task", "data-task": task.id },
              el("strong", {}, names[task.uscc] || task.uscc),
              el("div", { class: "muted" }, `${task.uscc} · `, both("信用等级", "level"), ` ${task.level} · v${task.version}`),
              task.result_status === "awaiting_confirmation" ? el("div", {}, both("待确认", "awaiting confirmation")) : null,
              queued.has(task.id) ? el("div", { class: "muted" }, both("有未同步的记录", "has unsynced work")) : null,
              el("button", { type: "button", on: { click: () => taskPage(task.id) } }, both("打开", "Open")),
            ),
          ),
        )
      : el("p", {}, both("没有待办的任务。", "No open tasks.")),
  );

  async function refresh() {
    try {
      await download();
    } catch (error) {
      if (error instanceof SignedOut) return signInPage("登录已过期，请重新登录 Signed out: sign in again");
    }
    await render();
  }

  async function signOut() {
    await idbDelete("kv", "session");
    await render();
  }
}

// A recorded result as the inspector reads it: names for the verdict and outcomes, never codes
function resultSummary(result, items) {
  const named = (table, code) => {
    const found = table.find(([value]) => value === code);
    return found ? both(found[1], found[2]) : [code];
  };
  const titles = Object.fromEntries(items.map((item) => [item.code, item.title]));
  return el(
    "dl",
    { id: "recorded-result" },
    el("dt", {}, both("结论", "Verdict")),
    el("dd", {}, named(VERDICTS, result.verdict)),
    (result.findings || []).flatMap((f) => [
      el("dt", {}, `${f.item} ${titles[f.item] || ""}`),
      el("dd", {}, named(OUTCOMES, f.outcome), f.note ? ` · ${f.note}` : ""),
    ]),
    el("dt", {}, both("照片与文件", "Photos and files")),
    el("dd", {}, String((result.evidence || []).length)),
  );
}

async function taskPage(taskId) {
  const task = await idbGet("tasks", taskId);
  const checklist = task.checklist_id ? await idbGet("checklists", task.checklist_id) : null;
  const enterprise = await idbGet("enterprises", task.uscc);
  const session = await idbGet("kv", "session");
  const items = checklist ? checklist.items : [];
  location_ = null;
  const where = el("p", { id: "location", class: "muted" }, both("未记录位置", "no location yet"));
  const thumbs = el("div", { class: "thumbs", id: "thumbs" });
  const error = el("p", { class: "error", role: "alert" });
  const photos = el("input", { id: "photos", name: "photos", type: "file", accept: "image/*,application/pdf", capture: "environment", multiple: true });
  photos.addEventListener("change", () => {
    thumbs.replaceChildren(...[...photos.files].map((f) => el("img", { src: URL.createObjectURL(f), alt: f.name })));
  });
  const form = el(
    "form",
    { id: "result-form", on: { submit: save } },
    el("h2", {}, enterprise ? enterprise.name : task.uscc),
    el("p", { class: "muted" }, `${task.uscc} · ${checklist ? checklist.title : ""}`),
    items.map((item) =>
      el(
        "fieldset",
        { "data-item": item.code },
        el("legend", {}, `${item.code} ${item.title}`),
        el("p", { class: "muted" }, `${item.criterion || ""} ${item.legal_basis ? `(${item.legal_basis})` : ""}`),
        OUTCOMES.map(([value, zh, en]) =>
          el(
            "label",
            {},
            el("input", { type: "radio", name: `outcome-${item.code}`, value, required: true }),
            ...both(zh, en),
          ),
        ),
        el("label", { class: "block", for: `note-${item.code}` }, both("说明", "Note")),
        el("textarea", { id: `note-${item.code}`, name: `note-${item.code}`, rows: 2, maxlength: 2000 }),
      ),
    ),
    el(
      "fieldset",
      {},
      el("legend", {}, both("结论", "Verdict")),
      VERDICTS.map(([value, zh, en]) =>
        el("label", {}, el("input", { type: "radio", name: "verdict", value, required: true }), ...both(zh, en)),
      ),
    ),
    el(
      "fieldset",
      {},
      el("legend", {}, both("照片与文件", "Photos and files")),
      el("label", { class: "block", for: "photos" }, both("拍照或选择文件", "Take photos or pick files")),
      photos,
      thumbs,
    ),
    el(
      "fieldset",
      {},
      el("legend", {}, both("位置", "Location")),
      el("button", { type: "button", class: "secondary", id: "locate", on: { click: locate } }, both("记录位置", "Record location")),
      where,
    ),
    el("p", { class: "muted" }, both(`签名：检查员 ${session.username} 提交即确认本结果`, `Signed: submitting is ${session.username}'s confirmation`)),
    error,
    el(
      "div",
      { class: "row" },
      el("button", { type: "submit", id: "save" }, both("保存（离线可用）", "Save (works offline)")),
      el("button", { type: "button", class: "secondary", on: { click: render } }, both("返回", "Back")),
    ),
  );
  const confirm =
    task.result_status === "awaiting_confirmation" && !task.confirmations.some((c) => c.inspector_id === session.inspector_id)
      ? el(
          "div",
          { class: "panel" },
          el("h2", {}, both("确认同事记录的结果", "Confirm the recorded result")),
          resultSummary(task.result, items),
          el("button", { type: "button", id: "confirm", on: { click: queueConfirmation } }, both("确认", "Confirm")),
        )
      : null;
  show(...(confirm ? [confirm, form] : [form]));

  function locate() {
    if (!navigator.geolocation) {
      where.textContent = "此设备无定位 No geolocation on this device";
      return;
    }
    where.textContent = "定位中… Locating…";
    navigator.geolocation.getCurrentPosition(
      (position) => {
        location_ = {
          lat: position.coords.latitude,
          lon: position.coords.longitude,
          accuracy_m: Math.min(position.coords.accuracy, 100000),
        };
        where.textContent = `${location_.lat.toFixed(5)}, ${location_.lon.toFixed(5)} ±${Math.round(location_.accuracy_m)} m`;
      },
      (failure) => {
        where.textContent = `未能定位 Location failed: ${failure.message}`;
      },
      { enableHighAccuracy: true, timeout: 20000 },
    );
  }

  async function save(event) {
    event.preventDefault();
    const data = new FormData(form);
    const evidence = [];
    for (const file of photos.files) {
      const bytes = await file.arrayBuffer();
      const sha256 = hex(await crypto.subtle.digest("SHA-256", bytes));
      const name = (file.name || "photo").slice(0, 200);
      await idbPut("photos", { sha256, name, type: file.type, blob: new Blob([bytes], { type: file.type }), uploaded: false });
      evidence.push({ sha256, name });
    }
    const findings = items.map((item) => ({
      item: item.code,
      outcome: data.get(`outcome-${item.code}`),
      note: data.get(`note-${item.code}`) || null,
    }));
    if (findings.some((f) => f.outcome === "fail") && data.get("verdict") === "pass") {
      error.textContent = "有不合格项目时结论不能为合格 A failed item cannot give the verdict pass";
      return;
    }
    const result = { findings, verdict: data.get("verdict"), evidence, checked_at: new Date().toISOString() };
    if (location_) result.location = location_;
    // one result per task in the queue: a new one replaces what was not yet synced
    for (const op of await idbAll("queue")) if (op.task_id === task.id && op.kind === "result") await idbDelete("queue", op.id);
    await idbPut("queue", { kind: "result", task_id: task.id, base_version: task.version, result, state: "pending", at: Date.now() });
    await render();
    syncSoon();
  }

  async function queueConfirmation() {
    await idbPut("queue", { kind: "confirmation", task_id: task.id, base_version: task.version, state: "pending", at: Date.now() });
    await render();
    syncSoon();
  }
}

function claims(token) {
  // the token's own claims (it is verified by the gateway and the services, not here)
  const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0))));
}

function hex(buffer) {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// -- the queue ----------------------------------------------------------------------------

async function renderQueue() {
  const queue = await idbAll("queue");
  const tasks = Object.fromEntries((await idbAll("tasks")).map((t) => [t.id, t]));
  const count = document.getElementById("queue-count");
  count.textContent = String(queue.length);
  count.classList.toggle("zero", queue.length === 0);
  document.getElementById("queue").replaceChildren(
    ...queue.map((op) => {
      const [zh, en] = STATES[op.state] || [op.state, op.state];
      const task = tasks[op.task_id];
      return el(
        "li",
        { class: `state-${op.state}`, "data-op": op.id, "data-state": op.state },
        el("strong", {}, op.kind === "result" ? both("检查结果", "Result") : both("确认", "Confirmation")),
        " · ",
        task ? task.uscc : op.task_id,
        " · ",
        ...both(zh, en),
        op.result ? el("div", { class: "muted" }, `${op.result.findings.length} 项 items · ${op.result.evidence.length} 张照片 photos${op.result.location ? " · 已定位 located" : ""}`) : null,
        op.detail ? el("div", { class: "error" }, op.detail) : null,
        op.state === "conflict"
          ? el(
              "div",
              { class: "row" },
              el("span", {}, both(`服务器上的任务已是第 ${op.server_task.version} 版`, `the server's task is at version ${op.server_task.version}`)),
              el("button", { type: "button", class: "keep-mine", on: { click: () => resolve(op, "mine") } }, both("保留我的", "Keep mine")),
              el("button", { type: "button", class: "secondary use-server", on: { click: () => resolve(op, "server") } }, both("采用服务器的", "Use the server's")),
            )
          : null,
        op.state === "rejected"
          ? el("button", { type: "button", class: "secondary", on: { click: () => discard(op) } }, both("放弃", "Discard"))
          : null,
      );
    }),
  );
}

async function resolve(op, choice) {
  await idbPut("tasks", op.server_task);
  if (choice === "server") {
    await idbDelete("queue", op.id);
  } else {
    await idbPut("queue", { ...op, base_version: op.server_task.version, state: "pending", detail: null, server_task: null });
  }
  await render();
  syncSoon();
}

async function discard(op) {
  await idbDelete("queue", op.id);
  await render();
}

let syncing = null;

function syncSoon() {
  if (navigator.onLine && !syncing) syncing = sync().finally(() => (syncing = null));
  return syncing;
}

async function sync() {
  try {
    const pending = (await idbAll("queue")).filter((op) => op.state === "pending");
    if (!pending.length) return;
    for (const op of pending) {
      for (const cited of op.result ? op.result.evidence : []) {
        const photo = await idbGet("photos", cited.sha256);
        if (!photo || photo.uploaded) continue;
        const response = await api("POST", `/v1/evidence?name=${encodeURIComponent(photo.name)}`, {
          body: photo.blob,
          headers: { "Content-Type": photo.type || "application/octet-stream" },
        });
        if (response.status === 200 || response.status === 201) {
          await idbPut("photos", { ...photo, uploaded: true });
        } else {
          await idbPut("queue", { ...op, state: "rejected", detail: `${photo.name}: ${await problem(response)}` });
        }
      }
    }
    const ready = (await idbAll("queue")).filter((op) => op.state === "pending");
    if (!ready.length) return;
    const results = ready.filter((op) => op.kind === "result");
    const confirmations = ready.filter((op) => op.kind === "confirmation");
    const response = await api("POST", "/v1/sync", {
      json: {
        results: results.map((op) => ({ task_id: op.task_id, base_version: op.base_version, result: op.result })),
        confirmations: confirmations.map((op) => ({ task_id: op.task_id, base_version: op.base_version })),
      },
    });
    if (!response.ok) {
      const detail = await problem(response);
      for (const op of ready) await idbPut("queue", { ...op, state: "rejected", detail });
      return;
    }
    const outcomes = await response.json();
    [...results, ...confirmations].forEach((op, n) => (op.outcome = outcomes[n]));
    for (const op of ready) {
      const outcome = op.outcome;
      delete op.outcome;
      if (!outcome) continue;
      if (outcome.status === "applied") {
        await idbDelete("queue", op.id);
        if (outcome.server_task) await idbPut("tasks", outcome.server_task);
      } else if (outcome.status === "conflict") {
        await idbPut("queue", { ...op, state: "conflict", detail: outcome.detail, server_task: outcome.server_task });
      } else {
        await idbPut("queue", { ...op, state: "rejected", detail: outcome.detail });
      }
    }
  } catch (error) {
    if (error instanceof SignedOut) {
      document.getElementById("net").textContent = "请重新登录后同步 Sign in again to sync";
      return;
    }
    if (!(error instanceof TypeError)) throw error; // a TypeError: the network went away
  } finally {
    const main = document.getElementById("app");
    if (!main.querySelector("#result-form") && (await idbGet("kv", "session"))) await taskList();
    await renderQueue();
  }
}

// -- start --------------------------------------------------------------------------------

function showNetwork() {
  const net = document.getElementById("net");
  net.replaceChildren(...(navigator.onLine ? both("在线", "online") : both("离线", "offline")));
  net.classList.toggle("offline", !navigator.onLine);
  net.dataset.online = String(navigator.onLine);
}

async function loadWords() {
  const words = await (await fetch("/field/words.json")).json();
  const rows = (names) => Object.entries(names).map(([code, [zh, en]]) => [code, zh, en]);
  OUTCOMES = rows(words.outcomes);
  VERDICTS = rows(words.verdicts);
}

async function start() {
  db = await openDb();
  await loadWords();
  showNetwork();
  window.addEventListener("online", () => {
    showNetwork();
    syncSoon();
  });
  window.addEventListener("offline", showNetwork);
  document.getElementById("sync-now").addEventListener("click", () => syncSoon());
  if ("serviceWorker" in navigator) {
    try {
      await navigator.serviceWorker.register("/field/sw.js", { scope: "/field/" });
    } catch (error) {
      console.warn("service worker not registered", error);
    }
  }
  await render();
  document.body.dataset.ready = "true";
  syncSoon();
}

start();
