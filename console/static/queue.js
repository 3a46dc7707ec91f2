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
    const link = el("a", "title", h.customer_name || "Visitor (not verified)");
    link.href = conversationUrl(h.id);
    const labels = el("span", "labels");
    labels.append(el("span", "tag reason", h.reason_label));
    if (h.intent_label) labels.append(" ", el("span", "tag intent", h.intent_label));
    li.append(link, labels);
    if (h.last_message) li.append(el("span", "preview", `“${h.last_message}”`));
    const meta = el("span", "meta");
    meta.append(el("span", "channel", h.channel_name), " · ", Console.timeElement(h.created_at));
    if (h.claimed_by) meta.append(` · with ${h.claimed_by}`);
    if (h.resolution_note) meta.append(` · note: ${h.resolution_note}`);
    li.append(meta);
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
