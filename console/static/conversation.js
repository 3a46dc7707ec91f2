// The conversation page: live transcript (customer messages with intent, confidence, entities,
// sentiment), replies without reloading, canned replies and knowledge-base suggestions. Text only.
"use strict";

(() => {
  const {el, postJSON} = Console;
  const api = document.body.dataset.api;
  const transcript = document.getElementById("transcript");
  const replyForm = document.getElementById("reply-form");
  const replyText = document.getElementById("reply-text");
  const problem = document.getElementById("rasa-problem");

  function message(item) {
    const li = el("li", `msg ${item.kind}`);
    const who = item.kind === "customer" ? "Customer" : item.kind === "system" ? "·" : item.author;
    li.append(el("span", "who", who), el("span", "text", item.text));
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

  function render(state) {
    const atBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;
    transcript.replaceChildren(...state.transcript.map(message));
    if (atBottom) transcript.scrollTop = transcript.scrollHeight;
    document.getElementById("status").textContent = state.handoff.status;
    document.getElementById("bot-state").textContent = state.paused ? "paused" : "answering";
    problem.hidden = !state.problem;
    problem.textContent = state.problem || "";
  }

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

  async function loadSuggestions() {
    const list = document.getElementById("suggestions");
    try {
      const response = await fetch(`${api}/suggestions`, {credentials: "same-origin"});
      const data = await response.json();
      if (!data.suggestions || !data.suggestions.length) {
        list.replaceChildren(el("li", "muted", data.problem || "No matching passages."));
        return;
      }
      list.replaceChildren(...data.suggestions.map((s) => {
        const li = el("li", "suggestion");
        li.append(el("strong", null, s.title), el("p", null, s.text));
        if (s.source) li.append(el("span", "muted", s.source));
        const use = el("button", "link", "Use in reply");
        use.type = "button";
        use.addEventListener("click", () => useText(s.text));
        li.append(use);
        return li;
      }));
    } catch (_) {
      list.replaceChildren(el("li", "muted", "Suggestions are not available."));
    }
  }
  loadSuggestions();
})();
