// The conversation page: live transcript (customer messages with intent, confidence, entities,
// sentiment; the assistant's Markdown drawn as DOM nodes), replies without reloading, canned replies and
// knowledge-base suggestions. Customer text is only ever set as text.
"use strict";

(() => {
  const {el, postJSON} = Console;
  const api = document.body.dataset.api;
  const transcript = document.getElementById("transcript");
  const jump = document.getElementById("jump-latest");
  const replyForm = document.getElementById("reply-form");
  const replyText = document.getElementById("reply-text");
  const problem = document.getElementById("rasa-problem");
  const UNREACHABLE = "The transcript cannot be shown: the assistant server is unreachable.";

  function body(item) {
    const box = el("div", "text");
    if (item.kind === "bot" || item.kind === "agent") box.append(Markdown.render(item.text));
    else box.textContent = item.text;
    return box;
  }

  function message(item) {
    const li = el("li", `msg ${item.kind}`);
    const who = item.kind === "customer" ? "Customer" : item.kind === "system" ? "·" : item.author;
    const head = el("span", "who", who);
    if (item.time && item.kind !== "system") head.append(" · ", Console.timeElement(item.time));
    li.append(head, body(item));
    if (item.kind === "customer") {
      const nlu = el("span", "nlu");
      // A button's title is shown; this is what the bot actually processed.
      if (item.payload) nlu.append("button ", el("code", "payload", item.payload), " · ");
      nlu.append("intent ", el("b", "intent", item.intent || "—"), ` (${item.confidence.toFixed(2)}) · sentiment `);
      const score = item.sentiment === null ? "" : ` ${item.sentiment >= 0 ? "+" : ""}${item.sentiment.toFixed(2)}`;
      nlu.append(el("b", `sentiment ${item.sentiment_label}`, item.sentiment_label + score));
      if (item.entities.length) {
        nlu.append(" · entities ");
        for (const e of item.entities) nlu.append(el("code", null, `${e.entity}=${e.value}`), " ");
      }
      li.append(nlu);
    }
    return li;
  }

  const nearBottom = () => transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;

  function toLatest() {
    transcript.scrollTop = transcript.scrollHeight;
    jump.hidden = true;
  }

  let shown = transcript.querySelectorAll(".msg:not(.placeholder)").length;
  function render(state) {
    const follow = nearBottom();
    const items = state.transcript.map(message);
    if (!items.length) {
      items.push(el("li", "msg system placeholder", state.problem ? UNREACHABLE : "No messages yet."));
    }
    transcript.replaceChildren(...items);
    if (follow) toLatest();
    else if (state.transcript.length > shown) jump.hidden = false;  // reading older messages: don't yank
    shown = state.transcript.length;
    document.getElementById("status").textContent = state.handoff.status;
    document.getElementById("bot-state").textContent = state.problem ? "unknown (assistant unreachable)"
      : state.paused ? "paused" : "answering";
    problem.hidden = !state.problem;
    problem.textContent = state.problem || "";
  }

  // The server drew the transcript as text: draw the assistant's Markdown, then open at the newest message.
  for (const box of transcript.querySelectorAll(".msg.bot .text, .msg.agent .text")) {
    box.replaceChildren(Markdown.render(box.textContent));
  }
  toLatest();
  transcript.addEventListener("scroll", () => { if (nearBottom()) jump.hidden = true; });
  jump.addEventListener("click", () => { toLatest(); transcript.focus(); });

  if (window.EventSource) {
    const source = new EventSource(`${api}/stream`);
    source.addEventListener("conversation", (event) => render(JSON.parse(event.data)));
  }

  if (replyForm) {
    replyForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = replyText.value.trim();
      if (!text) return;
      const send = document.getElementById("send");
      send.disabled = true;
      try {
        await postJSON(`${api}/reply`, {text});
        replyText.value = "";
        problem.hidden = true;
        toLatest();
      } catch (error) {
        problem.hidden = false;
        problem.textContent = error.message;
      } finally {
        send.disabled = false;
        replyText.focus();
      }
    });
  }

  function useText(text) {
    if (!replyText) return;
    replyText.value = replyText.value ? `${replyText.value}\n${text}` : text;
    replyText.focus();
  }

  for (const button of document.querySelectorAll("button.canned")) {
    button.addEventListener("click", () => useText(button.dataset.text));
  }

  function suggestion(s) {
    const li = el("li", "suggestion");
    li.append(el("strong", null, s.title), el("p", null, s.text));
    if (s.source) {
      const source = el("p", "source muted", "Source: ");
      source.append(el("span", null, s.source));
      li.append(source);
    }
    const use = el("button", "small use", "Use in reply");
    use.type = "button";
    use.disabled = !replyText;
    use.addEventListener("click", () => useText(s.text));
    li.append(use);
    return li;
  }

  const list = document.getElementById("suggestions");
  const asked = document.getElementById("suggestions-for");
  async function loadSuggestions(query) {
    list.replaceChildren(el("li", "muted", "Loading…"));
    try {
      const url = query ? `${api}/suggestions?q=${encodeURIComponent(query)}` : `${api}/suggestions`;
      const response = await fetch(url, {credentials: "same-origin"});
      const data = await response.json();
      asked.textContent = data.question ? `For “${data.question}”` : "";
      if (!data.suggestions || !data.suggestions.length) {
        list.replaceChildren(el("li", "muted", data.problem || "No passage answers this closely enough."));
        return;
      }
      list.replaceChildren(...data.suggestions.map(suggestion));
    } catch (_) {
      list.replaceChildren(el("li", "muted", "Suggestions are not available."));
    }
  }
  const search = document.getElementById("kb-search");
  search.addEventListener("submit", (event) => {
    event.preventDefault();
    loadSuggestions(search.querySelector("input").value.trim());
  });
  loadSuggestions("");
})();
