// The queue page: re-renders the four lanes from the live stream (text only).
"use strict";

(() => {
  const body = document.body;
  const conversationUrl = (id) => body.dataset.conversationUrl.replace(/0$/, String(id));
  const claimUrl = (id) => body.dataset.claimUrl.replace(/0\/claim$/, `${id}/claim`);
  const {el, postJSON} = Console;

  function item(h) {
    const li = el("li", "handoff");
    li.dataset.id = String(h.id);
    li.dataset.conversation = h.conversation_id;
    const link = el("a", "title", h.reason_detail || h.reason);
    link.href = conversationUrl(h.id);
    li.append(link, el("span", "preview", `“${h.last_message}”`));
    const meta = [h.channel || "unknown channel", `since ${h.created_at}`];
    if (h.claimed_by) meta.push(h.claimed_by);
    if (h.resolution_note) meta.push(`note: ${h.resolution_note}`);
    li.append(el("span", "meta", meta.join(" · ")));
    if (h.status === "waiting") {
      const button = el("button", "primary small claim", "Claim");
      button.type = "button";
      button.addEventListener("click", async () => {
        button.disabled = true;
        try {
          await postJSON(claimUrl(h.id), {});
          window.location.href = conversationUrl(h.id);
        } catch (error) {
          button.disabled = false;
          li.append(el("span", "error", error.message));
        }
      });
      li.append(button);
    }
    return li;
  }

  document.addEventListener("console:queue", (event) => {
    const queue = event.detail;
    document.getElementById("agents-online").textContent = String(queue.agents_online);
    for (const [lane, handoffs] of Object.entries(queue.lanes)) {
      const section = document.getElementById(`lane-${lane}`);
      if (!section) continue;
      section.querySelector(".count").textContent = String(handoffs.length);
      const list = section.querySelector("ul");
      list.replaceChildren(...(handoffs.length ? handoffs.map(item) : [el("li", "empty", "Nothing here.")]));
    }
  });
})();
