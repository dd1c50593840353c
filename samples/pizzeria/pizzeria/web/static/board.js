// The kitchen board: renders GET /kitchen and the ready orders, refetched whenever
// /board/events says the board changed. No framework, no build step.
"use strict";

const TOKEN_KEY = "pizzeria.staffToken";
const $ = (selector) => document.querySelector(selector);

const refreshing = { busy: false, again: false };

function staffToken() {
  return localStorage.getItem(TOKEN_KEY) || "";
}

function say(text, kind) {
  const message = $("#message");
  message.textContent = text || "";
  message.dataset.kind = kind || "info";
  message.hidden = !text;
}

async function getJson(url) {
  const answer = await fetch(url, { headers: { Accept: "application/json" } });
  if (!answer.ok) {
    throw new Error(`${url} answered ${answer.status}`);
  }
  return answer.json();
}

// Refetch the board; a change announced while fetching triggers one more round.
async function refresh() {
  if (refreshing.busy) {
    refreshing.again = true;
    return;
  }
  refreshing.busy = true;
  try {
    do {
      refreshing.again = false;
      const [kitchen, ready] = await Promise.all([
        getJson("/kitchen"),
        getJson("/orders?status=ready&size=100"),
      ]);
      render(kitchen, ready.items.slice().reverse());
    } while (refreshing.again);
    $("#updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    say(`Could not load the board: ${error.message}`, "error");
  } finally {
    refreshing.busy = false;
  }
}

function render(kitchen, ready) {
  $("#free-slots").textContent = String(kitchen.free_slots);
  $("#capacity").textContent = String(kitchen.capacity);
  const lights = $("#slot-lights");
  lights.replaceChildren(
    ...Array.from({ length: kitchen.capacity }, (_, index) => {
      const light = document.createElement("span");
      light.className = index < kitchen.capacity - kitchen.free_slots ? "slot busy" : "slot";
      return light;
    }),
  );
  const full = kitchen.free_slots <= 0;
  fill("#confirmed", kitchen.queue, full, (order) => [
    button("Start cooking", "cook", order, {
      disabled: full,
      title: full ? "The kitchen is full: mark an order ready first" : "",
    }),
  ]);
  fill("#cooking", kitchen.cooking, false, (order) => [button("Mark ready", "ready", order)]);
  fill("#ready", ready, false, (order) => dispatchControls(order));
}

// Cards are keyed by order: a card whose order did not change is kept as it is, so a
// refresh never wipes a driver's name being typed nor takes the focus away.
function fill(column, orders, full, actions) {
  const section = $(column);
  section.querySelector(".count").textContent = String(orders.length);
  const list = section.querySelector(".cards");
  if (orders.length === 0) {
    if (!list.querySelector(".empty")) {
      const empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = "nothing here";
      list.replaceChildren(empty);
    }
    return;
  }
  const shown = new Map();
  for (const item of list.querySelectorAll("li.card")) {
    shown.set(item.dataset.orderId, item);
  }
  const items = orders.map((order) => {
    const version = `${order.status}|${order.updated_at}|${full}`;
    const kept = shown.get(order.id);
    if (kept && kept.dataset.version === version) {
      return kept;
    }
    const item = card(order, actions(order));
    item.dataset.version = version;
    return item;
  });
  const current = Array.from(list.children);
  if (items.length === current.length && items.every((item, index) => item === current[index])) {
    return;
  }
  const focused = document.activeElement;
  list.replaceChildren(...items);
  if (focused instanceof HTMLElement && list.contains(focused)) {
    focused.focus();
  }
}

function card(order, actions) {
  const item = document.createElement("li");
  item.className = "card";
  item.dataset.orderId = order.id;
  const head = document.createElement("div");
  head.className = "card-head";
  head.append(text("strong", order.customer_name), text("code", `#${order.id.slice(-8)}`));
  const since = order.history.length ? order.history[order.history.length - 1].at : order.placed_at;
  const meta = text("p", `${order.status.replace(/_/g, " ")} since ${clock(since)} · total ${order.total}`);
  meta.className = "meta";
  const lines = document.createElement("ul");
  lines.className = "lines";
  for (const line of order.lines) {
    const extras = line.extras.length ? ` + ${line.extras.join(", ")}` : "";
    lines.append(text("li", `${line.quantity} × ${line.size} ${line.pizza}${extras}`));
  }
  const buttons = document.createElement("div");
  buttons.className = "actions";
  buttons.append(...actions);
  item.append(head, meta, lines, buttons);
  return item;
}

function text(tag, content) {
  const element = document.createElement(tag);
  element.textContent = content;
  return element;
}

function clock(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function button(label, action, order, options = {}) {
  const element = text("button", label);
  element.type = "button";
  element.dataset.action = action;
  element.disabled = Boolean(options.disabled);
  if (options.title) {
    element.title = options.title;
  }
  element.addEventListener("click", () => act(order.id, action, undefined, element));
  return element;
}

function dispatchControls(order) {
  const form = document.createElement("form");
  form.className = "dispatch";
  const driver = document.createElement("input");
  driver.name = "driver";
  driver.placeholder = "driver";
  driver.maxLength = 100;
  driver.required = true;
  driver.setAttribute("aria-label", `Driver for order ${order.id.slice(-8)}`);
  const send = text("button", "Dispatch");
  send.type = "submit";
  send.dataset.action = "dispatch";
  form.append(driver, send);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(order.id, "dispatch", { driver: driver.value.trim() }, send);
  });
  return [form];
}

async function act(orderId, action, body, control) {
  const token = staffToken();
  if (!token) {
    say("Type the staff token at the top first.", "error");
    $("#token").focus();
    return;
  }
  control.disabled = true;
  try {
    const answer = await fetch(`/orders/${encodeURIComponent(orderId)}/${action}`, {
      method: "POST",
      headers: {
        Accept: "application/json",
        Authorization: `Bearer ${token}`,
        ...(body ? { "Content-Type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (answer.ok) {
      say("");
    } else {
      const problem = await answer.json().catch(() => ({}));
      say(problem.detail || `${action} answered ${answer.status}`, "error");
      if (answer.status === 401 || answer.status === 403) {
        $("#token").focus();
      }
    }
  } catch (error) {
    say(`Could not ${action}: ${error.message}`, "error");
  } finally {
    control.disabled = false;
    await refresh();
  }
}

function connect() {
  const live = $("#live");
  const source = new EventSource("/board/events");
  source.addEventListener("open", () => {
    live.dataset.state = "live";
    live.textContent = "live";
    refresh(); // whatever changed while we were away
  });
  source.addEventListener("board", () => refresh());
  source.addEventListener("error", () => {
    live.dataset.state = "reconnecting";
    live.textContent = "reconnecting…"; // EventSource retries by itself
  });
}

function setUpToken() {
  const input = $("#token");
  input.value = staffToken();
  $("#token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    localStorage.setItem(TOKEN_KEY, input.value.trim());
    say(input.value.trim() ? "Token saved in this browser." : "Token removed.", "info");
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setUpToken();
  refresh();
  connect();
});
