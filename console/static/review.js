// Training pages: mark entity spans by selecting text in a message, "select all" for bulk verdicts, and
// the live progress of training jobs. Customer text is only ever set with textContent, never as HTML.
"use strict";

(() => {
  function parseEntities(text) {
    try {
      const value = JSON.parse(text || "[]");
      return Array.isArray(value) ? value : [];
    } catch (_) {
      return [];
    }
  }

  // Offset of (node, offset) in the message's text, in UTF-16 units: the length of the text before it. A
  // Range works for element boundaries too (a triple click or a drag that starts on a mark).
  function textOffset(container, node, offset) {
    const before = document.createRange();
    before.selectNodeContents(container);
    before.setEnd(node, offset);
    return before.toString().length;
  }

  function setupItem(item) {
    const textEl = item.querySelector(".review-text");
    const field = item.querySelector(".entities-field");
    const tools = item.querySelector(".entity-tools");
    if (!textEl || !field) return;
    const text = textEl.textContent;
    // Spans count code points, as Python (and so Rasa's training data) counts characters; the DOM counts
    // UTF-16 units, which differ after an emoji. `chars` is the text as code points.
    const chars = Array.from(text);
    const slice = (start, end) => chars.slice(start, end).join("");
    const codePoints = (units) => Array.from(text.slice(0, units)).length;
    let spans = parseEntities(field.value).filter((s) => Number.isInteger(s.start) && Number.isInteger(s.end)
      && s.start >= 0 && s.end <= chars.length && s.start < s.end);

    function render() {
      spans.sort((a, b) => a.start - b.start);
      field.value = JSON.stringify(spans.map(({start, end, entity}) => ({start, end, entity})));
      textEl.replaceChildren();
      let cursor = 0;
      spans.forEach((span, index) => {
        textEl.append(document.createTextNode(slice(cursor, span.start)));
        const mark = document.createElement("mark");
        mark.textContent = slice(span.start, span.end);
        mark.dataset.entity = span.entity;
        mark.title = `${span.entity} (click to remove)`;
        mark.addEventListener("click", () => { spans.splice(index, 1); render(); });
        textEl.append(mark);
        cursor = span.end;
      });
      textEl.append(document.createTextNode(slice(cursor)));
    }

    const choice = item.querySelector(".intent-choice");
    item.querySelectorAll(".pick-intent").forEach((button) => {
      button.addEventListener("click", () => {
        choice.value = button.dataset.intent;
        choice.focus();
      });
    });

    if (tools) {
      tools.hidden = false;
      const hint = tools.querySelector(".entity-hint");
      tools.querySelector(".mark-entity").addEventListener("click", () => {
        const type = tools.querySelector(".entity-type").value;
        if (!type) {  // no default type: a mark must say what it is
          hint.textContent = "Choose an entity type first.";
          return;
        }
        hint.textContent = "";
        const selection = window.getSelection();
        if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return;
        const range = selection.getRangeAt(0);
        if (!range.intersectsNode(textEl)) return;
        // A selection running past the message (a triple click, an overshooting drag) is cut to it.
        const startUnits = textEl.contains(range.startContainer)
          ? textOffset(textEl, range.startContainer, range.startOffset) : 0;
        const endUnits = textEl.contains(range.endContainer)
          ? textOffset(textEl, range.endContainer, range.endOffset) : text.length;
        let start = codePoints(Math.min(startUnits, endUnits));
        let end = codePoints(Math.max(startUnits, endUnits));
        // Whole words only: trim spaces and grow to word boundaries, as Rasa's tokenizer sees them.
        const space = (c) => /\s/u.test(c);
        const word = (c) => /[\p{L}\p{N}\p{M}_]/u.test(c);
        while (start < end && space(chars[start])) start += 1;
        while (end > start && space(chars[end - 1])) end -= 1;
        while (start > 0 && word(chars[start - 1])) start -= 1;
        while (end < chars.length && word(chars[end])) end += 1;
        if (start >= end) return;
        spans = spans.filter((s) => s.end <= start || s.start >= end);
        spans.push({start, end, entity: type});
        selection.removeAllRanges();
        render();
      });
    }
    render();
  }

  function setupBulk() {
    const all = document.querySelector(".bulk-all");
    if (!all) return;
    all.addEventListener("change", () => {
      document.querySelectorAll(".bulk-pick").forEach((box) => { box.checked = all.checked; });
    });
  }

  function watchJob(row) {
    const url = row.dataset.jobUrl;
    const bar = row.querySelector("progress");
    const label = row.querySelector(".job-progress");
    const stage = row.querySelector(".job-stage");
    const detail = row.querySelector(".job-detail");
    async function poll() {
      try {
        const response = await fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}});
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const job = await response.json();
        bar.value = job.progress;
        label.textContent = `${job.progress}%`;
        stage.textContent = job.stage;
        detail.textContent = job.detail || "";
        if (job.done) {
          window.location.reload();
          return;
        }
      } catch (_) { /* a console restart: try again */ }
      setTimeout(poll, 2000);
    }
    setTimeout(poll, 1000);
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll(".review-item").forEach(setupItem);
    setupBulk();
    document.querySelectorAll('.job[data-status="queued"], .job[data-status="running"]').forEach(watchJob);
  });
})();
