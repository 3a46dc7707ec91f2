// The assistant's Markdown as DOM nodes, never as HTML: paragraphs, line breaks, lists, **bold**, *italic*,
// `code`, [links](url) and bare links (http, https, mailto only). The same subset, and the same rules, as the
// chat widget's renderer (web/static/widget/shopdesk.js), so an agent reads what the customer read.
"use strict";

const Markdown = (() => {
  const INLINE = /(`[^`\n]+`)|(\*\*[^*\n]+?\*\*|(?<![\w])__[^_\n]+?__(?![\w]))|(\*[^*\s][^*\n]*?\*|(?<![\w])_[^_\s][^_\n]*?_(?![\w]))|(\[[^\]\n]+\]\([^)\s]+\))|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])/g;
  const LIST_ITEM = /^\s*(?:([-*+•])|(\d{1,3})[.)])\s+(.*)$/;

  function safeUrl(raw, allowMail) {
    try {
      const url = new URL(String(raw).trim(), window.location.origin);
      const ok = url.protocol === "http:" || url.protocol === "https:" || (allowMail && url.protocol === "mailto:");
      return ok ? url.href : null;
    } catch (_) {
      return null;
    }
  }

  function node(tag, text) {
    const n = document.createElement(tag);
    if (text !== undefined) n.textContent = text;
    return n;
  }

  function link(parent, href, label, depth) {
    const a = node("a");
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer nofollow";
    if (depth < 3) inline(a, label, 9); else a.textContent = label;
    parent.append(a);
  }

  function inline(parent, text, depth) {
    let last = 0;
    for (const m of text.matchAll(INLINE)) {
      if (m.index > last) parent.append(text.slice(last, m.index));
      last = m.index + m[0].length;
      if (m[1]) parent.append(node("code", m[1].slice(1, -1)));
      else if (m[2] || m[3]) {
        const styled = node(m[2] ? "strong" : "em");
        const inner = m[2] ? m[2].slice(2, -2) : m[3].slice(1, -1);
        if (depth < 3) inline(styled, inner, depth + 1); else styled.textContent = inner;
        parent.append(styled);
      } else if (m[4]) {
        const close = m[4].indexOf("](");
        const href = safeUrl(m[4].slice(close + 2, -1), true);
        if (href) link(parent, href, m[4].slice(1, close), depth); else parent.append(m[4]);
      } else {
        const href = safeUrl(m[5], false);
        if (href) link(parent, href, m[5], 9); else parent.append(m[5]);
      }
    }
    if (last < text.length) parent.append(text.slice(last));
  }

  // Blocks are split by blank lines; inside one, runs of list lines become a list, other runs a paragraph.
  function render(text) {
    const root = node("div");
    root.className = "md";
    for (const block of String(text || "").replace(/\r\n?/g, "\n").split(/\n{2,}/)) {
      let run = null;
      for (const line of block.split("\n")) {
        if (!line.trim()) continue;
        const item = LIST_ITEM.exec(line);
        if (item) {
          const kind = item[2] ? "ol" : "ul";
          if (!run || run.kind !== kind) {
            run = {kind, node: node(kind)};
            if (item[2] && item[2] !== "1") run.node.setAttribute("start", item[2]);
            root.append(run.node);
          }
          const li = node("li");
          inline(li, item[3], 0);
          run.node.append(li);
          continue;
        }
        if (!run || run.kind !== "p") {
          run = {kind: "p", node: node("p")};
          root.append(run.node);
        } else {
          run.node.append(node("br"));
        }
        inline(run.node, line, 0);
      }
    }
    return root;
  }

  return {render};
})();
