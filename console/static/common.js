// Shared by every console page: DOM helpers (text only, never HTML), CSRF-aware POSTs, and the live
// queue stream that alerts the agent to new handoffs (badge, page title, sound) wherever they are.
"use strict";

const Console = (() => {
  const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const baseTitle = document.title;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  async function postJSON(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken},
      credentials: "same-origin",
      body: JSON.stringify(body || {}),
    });
    let data = {};
    try { data = await response.json(); } catch (_) { /* empty body */ }
    if (!response.ok) throw new Error(data.error || `Request failed (HTTP ${response.status})`);
    return data;
  }

  // Times come as UTC ISO strings; agents read them relative ("5 min ago") with their local time on hover.
  function relative(iso, now = Date.now()) {
    const then = Date.parse(iso);
    if (Number.isNaN(then)) return "";
    const minutes = Math.round((now - then) / 60000);
    if (minutes < 1) return "just now";
    if (minutes < 60) return `${minutes} min ago`;
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return `${hours} h ${minutes % 60} min ago`;
    return new Date(then).toLocaleString([], {dateStyle: "medium", timeStyle: "short"});
  }

  function showTime(node) {
    const iso = node.getAttribute("datetime");
    const text = relative(iso);
    if (!text) return;
    node.textContent = text;
    node.title = new Date(Date.parse(iso)).toLocaleString([], {dateStyle: "full", timeStyle: "short"});
  }

  function timeElement(iso) {
    const node = el("time", null, iso || "");
    node.dataset.relative = "";
    if (iso) node.setAttribute("datetime", iso);
    showTime(node);
    return node;
  }

  function refreshTimes(root = document) {
    root.querySelectorAll("time[data-relative]").forEach(showTime);
  }

  let audio = null;
  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.15, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
      osc.connect(gain).connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.4);
    } catch (_) { /* no audio before the first user gesture: the badge and title still show */ }
  }

  const badge = document.getElementById("alert-badge");
  let knownWaiting = null;
  function alertNewHandoffs(queue) {
    const waiting = queue.lanes.waiting.map((h) => h.id);
    const fresh = knownWaiting === null ? [] : waiting.filter((id) => !knownWaiting.has(id));
    knownWaiting = new Set(waiting);
    if (badge) {
      badge.hidden = waiting.length === 0;
      badge.textContent = waiting.length === 1 ? "1 waiting" : `${waiting.length} waiting`;
      badge.classList.toggle("pulse", fresh.length > 0);
    }
    document.title = waiting.length ? `(${waiting.length}) ${baseTitle}` : baseTitle;
    if (fresh.length) {
      beep();
      document.body.dataset.newHandoff = String(fresh[fresh.length - 1]);
    }
  }

  function subscribeQueue() {
    if (!badge || !window.EventSource) return;
    const source = new EventSource("/queue/stream");
    source.addEventListener("queue", (event) => {
      const queue = JSON.parse(event.data);
      alertNewHandoffs(queue);
      document.dispatchEvent(new CustomEvent("console:queue", {detail: queue}));
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    refreshTimes();
    setInterval(refreshTimes, 30000);
    subscribeQueue();
  });
  return {el, postJSON, timeElement, refreshTimes};
})();
