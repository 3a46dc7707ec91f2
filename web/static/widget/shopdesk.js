/*
 * ShopDesk chat widget: one <script src="https://<shopdesk>/widget.js" data-...> tag embeds it on any page;
 * the widget finds ShopDesk (its API, stylesheet, socket.io client) from its own script URL.
 *
 * Plain modern JavaScript, no build step. Talks to Rasa's socket.io channel with the socket.io client the
 * ShopDesk web app serves (never a CDN). Every message carries a client id: unacknowledged messages stay in a
 * persistent outbox and are re-sent after reconnecting; the server drops repeats of an id, and the
 * transcript restored from the server after each (re)connection is the source of truth, so nothing is lost
 * or shown twice. Bot and user text is only ever put in the page with textContent (safe Markdown subset).
 *
 * The conversation belongs to this browser's session cookie when the widget is served from ShopDesk's own
 * origin; on the shop's site (another origin, where browsers may block third-party cookies) it belongs to a
 * signed widget token the widget keeps in localStorage and sends as `Authorization: Bearer` (no cookies are
 * sent there). The shop's backend can vouch for its signed-in customer with a signed identity token
 * (data-customer-token or ShopDesk.identify(token)), sent as X-ShopDesk-Identity; a refused one is shown and
 * the chat goes on as a guest. /api/session gives the conversation id and a signed session token, and socket.io's session_request sends both ({session_id, session_token}); without a valid
 * token the server puts the socket in a new conversation (its session_confirm names another id), and the
 * widget then asks the web app again once before giving up.
 *
 * data-* options: data-server, data-customer-token, data-socket-url, data-socket-path, data-title, data-subtitle, data-avatar,
 * data-position (right|left), data-lang (en|zh|auto), data-open (true), data-primary-color,
 * data-primary-text-color, data-background-color, data-bot-bubble-color, data-user-bubble-color,
 * data-font, data-z-index, data-strings (JSON overriding UI strings), data-attachment-payload,
 * data-nudge-after (seconds), data-nudge-text, data-nudge-pages (path prefixes), data-ack-timeout-ms.
 * CSS variables (settable on the page): --shopdesk-primary, --shopdesk-primary-text, --shopdesk-background,
 * --shopdesk-bot-bubble, --shopdesk-user-bubble, --shopdesk-text, --shopdesk-font, --shopdesk-radius.
 */
(function () {
  "use strict";
  if (window.ShopDesk && window.ShopDesk.version) return;

  var VERSION = "1.0.0";
  var script = document.currentScript ||
    document.querySelector('script[src$="/widget.js"], script[src*="/widget/shopdesk.js"]');
  var ds = (script && script.dataset) || {};
  var extra = window.ShopDeskConfig || {};
  var scriptUrl = new URL(script ? script.src : location.href, location.href);
  // ShopDesk's base URL: where the script came from, without its own file name (it may live under a path).
  var scriptBase = scriptUrl.origin + scriptUrl.pathname.replace(/\/(widget\.js|widget\/shopdesk\.js)$/, "");
  if (scriptBase === scriptUrl.origin + scriptUrl.pathname) scriptBase = scriptUrl.origin;

  var STRINGS = {
    en: {
      title: "Chat with us", subtitle: "We usually reply right away", open: "Open chat", close: "Close chat",
      unread: "{n} unread messages", placeholder: "Type your message…", send: "Send", attach: "Attach an image",
      newConversation: "New conversation", newConversationDone: "Started a new conversation.",
      online: "Online", connecting: "Connecting…", reconnecting: "Reconnecting… (attempt {n})",
      offline: "Offline — messages will be sent when you're back online",
      unreachable: "Can't reach the assistant. Retrying…", retry: "Retry now",
      queued: "Queued", sending: "Sending…", sent: "Sent", typing: "The assistant is typing",
      historyError: "Your earlier messages couldn't be loaded right now.",
      uploadTooBig: "That image is too large (the limit is {mb} MB).",
      uploadType: "Only PNG, JPEG, WebP and GIF images can be attached.", uploading: "Uploading your image…",
      uploadFailed: "The image couldn't be uploaded: {error}", imageAlt: "Image", yourImage: "Your image",
      products: "Product suggestions", previous: "Previous", next: "Next", conversation: "Conversation",
      you: "You", assistant: "Assistant", dismiss: "Dismiss", messageLabel: "Message",
      unreadOne: "1 unread message", failed: "Not sent", failedWhy: "Not sent: {error}", retrySend: "Retry",
      edit: "Edit", noAck: "the chat service didn't confirm it", serviceError: "The chat service had a problem.",
      serviceDown: "Can't reach the chat service.", retryingIn: "Trying again in {s} s.", retrying: "Trying again…",
      keptNote: "Your messages are kept and will be sent once it's back.", rejoinFailed: "The chat couldn't be rejoined.",
      agentRole: "Customer service", talkingTo: "You're talking to {name}", waitingFor: "Waiting for a person",
      nextInLine: "you're next in line", inQueue: "you're number {n} in the queue", waitAbout: "about {m} min",
      nobodyOnline: "No one is online now; the team replies here ({hours})", teamNotice: "Notice",
      confirmNew: "Start a new conversation? This chat will end and you won't be able to continue it here.",
      confirmNewYes: "Start new", confirmNewNo: "Keep this chat", aboutProduct: "{title}: {name}",
      caption: "Add a caption (optional)", removeImage: "Remove image", imageReady: "Image ready to send: {name}",
      earlier: "Earlier conversation · {date}", thisConversation: "This conversation",
      dropHere: "Drop an image to attach it", nudge: "Questions? {name} can help.", openNudge: "Open chat: {text}"
    },
    zh: {
      title: "在线客服", subtitle: "我们通常会立即回复", open: "打开聊天", close: "关闭聊天",
      unread: "{n} 条未读消息", placeholder: "请输入消息…", send: "发送", attach: "添加图片",
      newConversation: "新对话", newConversationDone: "已开始新的对话。",
      online: "在线", connecting: "正在连接…", reconnecting: "正在重新连接…(第 {n} 次)",
      offline: "已离线——恢复网络后将自动发送消息",
      unreachable: "暂时无法连接到助手，正在重试…", retry: "立即重试",
      queued: "等待发送", sending: "发送中…", sent: "已发送", typing: "助手正在输入",
      historyError: "暂时无法加载之前的消息。",
      uploadTooBig: "图片太大（上限为 {mb} MB）。",
      uploadType: "只能添加 PNG、JPEG、WebP 或 GIF 图片。", uploading: "正在上传图片…",
      uploadFailed: "图片上传失败：{error}", imageAlt: "图片", yourImage: "您的图片",
      products: "商品推荐", previous: "上一个", next: "下一个", conversation: "对话",
      you: "您", assistant: "助手", dismiss: "关闭", messageLabel: "消息",
      unreadOne: "1 条未读消息", failed: "未发送", failedWhy: "未发送：{error}", retrySend: "重试",
      edit: "编辑", noAck: "服务器没有确认收到", serviceError: "聊天服务出现问题。",
      serviceDown: "无法连接到聊天服务。", retryingIn: "{s} 秒后重试。", retrying: "正在重试…",
      keptNote: "您的消息已保留，恢复后会自动发送。", rejoinFailed: "无法重新加入对话。",
      agentRole: "客服", talkingTo: "您正在与 {name} 交谈", waitingFor: "正在等待人工客服",
      nextInLine: "下一位就是您", inQueue: "您排在第 {n} 位", waitAbout: "约 {m} 分钟",
      nobodyOnline: "目前没有客服在线；客服会在这里回复（{hours}）", teamNotice: "通知",
      confirmNew: "开始新对话？当前对话将结束，无法在此继续。",
      confirmNewYes: "开始新对话", confirmNewNo: "继续当前对话", aboutProduct: "{title}：{name}",
      caption: "添加说明（可选）", removeImage: "移除图片", imageReady: "图片待发送：{name}",
      earlier: "之前的对话 · {date}", thisConversation: "当前对话",
      dropHere: "拖放图片即可添加", nudge: "有问题吗？{name} 可以帮您。", openNudge: "打开聊天：{text}"
    }
  };

  function pickLang(value) {
    var wanted = (value || "auto").toLowerCase();
    if (wanted === "auto") wanted = (navigator.language || "en").toLowerCase();
    return wanted.indexOf("zh") === 0 ? "zh" : "en";
  }

  function parseJson(text, fallback) {
    if (!text) return fallback;
    try { return JSON.parse(text); } catch (e) { return fallback; }
  }

  var lang = pickLang(ds.lang || extra.lang);
  var strings = Object.assign({}, STRINGS[lang], extra.strings || {}, parseJson(ds.strings, {}));
  var config = {
    server: (ds.server || extra.server || scriptBase).replace(/\/+$/, ""),
    socketUrl: ds.socketUrl || extra.socketUrl || null,
    socketPath: ds.socketPath || extra.socketPath || null,
    title: ds.title || extra.title || strings.title,
    subtitle: ds.subtitle || extra.subtitle || strings.subtitle,
    avatar: ds.avatar || extra.avatar || null,
    position: (ds.position || extra.position) === "left" ? "left" : "right",
    open: (ds.open || String(extra.open || "")) === "true",
    attachmentPayload: ds.attachmentPayload || extra.attachmentPayload || "/share_image",
    customerToken: ds.customerToken || extra.customerToken || null,
    // Opt-in proactive nudge: after this many seconds on a page (data-nudge-after), only on pages whose path
    // starts with one of data-nudge-pages (comma-separated; all pages when unset), once per browser session.
    nudgeAfterS: Number(ds.nudgeAfter || extra.nudgeAfter || 0),
    nudgeText: ds.nudgeText || extra.nudgeText || null,
    nudgePages: String(ds.nudgePages || extra.nudgePages || "").split(",").map(function (p) { return p.trim(); })
      .filter(Boolean),
    ackTimeoutMs: Number(ds.ackTimeoutMs || extra.ackTimeoutMs || 8000),
    typingTimeoutMs: 25000,
    handoffPollMs: 10000
  };
  var THEME = {
    primaryColor: "--shopdesk-primary", primaryTextColor: "--shopdesk-primary-text",
    backgroundColor: "--shopdesk-background", botBubbleColor: "--shopdesk-bot-bubble",
    userBubbleColor: "--shopdesk-user-bubble", textColor: "--shopdesk-text", font: "--shopdesk-font",
    radius: "--shopdesk-radius"
  };

  function t(key, vars) {
    var text = strings[key] || STRINGS.en[key] || key;
    Object.keys(vars || {}).forEach(function (k) { text = text.split("{" + k + "}").join(String(vars[k])); });
    return text;
  }

  // ---- persistent state (per web-app origin) ------------------------------------------------------------
  var KEY = "shopdesk:" + config.server + ":";
  var store = {
    get: function (name, fallback) {
      try { var v = localStorage.getItem(KEY + name); return v === null ? fallback : JSON.parse(v); }
      catch (e) { return fallback; }
    },
    set: function (name, value) {
      try { localStorage.setItem(KEY + name, JSON.stringify(value)); } catch (e) { /* private mode: memory only */ }
    },
    remove: function (name) { try { localStorage.removeItem(KEY + name); } catch (e) { /* ignore */ } }
  };

  // On another site than ShopDesk's the widget holds its conversation by token, not by cookie.
  var byToken = new URL(config.server + "/", location.href).origin !== location.origin;

  var state = {
    session: null,                      // /api/session answer
    widgetToken: byToken ? store.get("token", null) : null,
    conversationId: store.get("conversation", null),
    outbox: store.get("outbox", []),    // unacknowledged user messages [{id, cid, text, display, metadata, ts}]
    inFlight: {},                       // outbox ids emitted and awaiting their ack
    unread: store.get("unread", 0),
    connection: "connecting",
    attempt: 0,
    syncing: false,
    syncBuffer: [],
    refusals: 0,                        // session_requests the server refused in a row
    identityError: null,                // why the shop's identity token was refused, if it was
    socket: null,
    typingTimer: null,
    epoch: 0,                           // bumped on every disconnect: acks from an older connection are stale
    handoff: { state: "bot" },          // /api/handoff: the bot, waiting for a person, or an agent
    handoffTimer: null,
    staged: null,                       // an image chosen, pasted or dropped, not sent yet: {file, url}
    sessionAttempt: 0,                  // failed /api/session calls in a row at start-up
    sessionTimer: null,
    isOpen: false
  };

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  // ---- DOM helpers -------------------------------------------------------------------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = value;
      else if (name === "className") node.className = value;
      else if (name.indexOf("on") === 0) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  var ICONS = {
    attach: "M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z",
    send: "M3 20.5 21 12 3 3.5v6.6L15 12 3 13.9z",
    plus: "M11 5h2v6h6v2h-6v6h-2v-6H5v-2h6z",
    close: "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z",
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"
  };

  function icon(name) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "sd-icon");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  function safeUrl(raw, allowMail) {
    if (typeof raw !== "string" || !raw.trim()) return null;
    try {
      var url = new URL(raw.trim(), config.server + "/");
      var ok = url.protocol === "http:" || url.protocol === "https:" || (allowMail && url.protocol === "mailto:");
      return ok ? url.href : null;
    } catch (e) { return null; }
  }

  // ---- safe Markdown: paragraphs, line breaks, lists, **bold**, *italic*, `code`, [links](url) ------------
  // Underscore emphasis only between non-word characters, as in CommonMark: "window.__x=1" stays as typed.
  var INLINE = /(`[^`\n]+`)|(\*\*[^*\n]+?\*\*|(?<![\w])__[^_\n]+?__(?![\w]))|(\*[^*\s][^*\n]*?\*|(?<![\w])_[^_\s][^_\n]*?_(?![\w]))|(\[[^\]\n]+\]\([^)\s]+\))|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])/g;

  function appendInline(parent, text, depth) {
    var last = 0, match;
    INLINE.lastIndex = 0;
    var matches = [];
    while ((match = INLINE.exec(text)) !== null) matches.push(match);
    matches.forEach(function (m) {
      if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      last = m.index + m[0].length;
      if (m[1]) parent.appendChild(el("code", { text: m[1].slice(1, -1) }));
      else if (m[2]) appendStyled(parent, "strong", m[2].slice(2, -2), depth);
      else if (m[3]) appendStyled(parent, "em", m[3].slice(1, -1), depth);
      else if (m[4]) {
        var close = m[4].indexOf("](");
        var label = m[4].slice(1, close), href = safeUrl(m[4].slice(close + 2, -1), true);
        if (href) appendLink(parent, href, label, depth);
        else parent.appendChild(document.createTextNode(m[4]));
      } else if (m[5]) {
        var bare = safeUrl(m[5], false);
        if (bare) appendLink(parent, bare, m[5], 9);
        else parent.appendChild(document.createTextNode(m[5]));
      }
    });
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function appendStyled(parent, tag, inner, depth) {
    var node = el(tag);
    if (depth < 3) appendInline(node, inner, depth + 1); else node.textContent = inner;
    parent.appendChild(node);
  }

  function appendLink(parent, href, label, depth) {
    var a = el("a", { href: href, target: "_blank", rel: "noopener noreferrer nofollow" });
    if (depth < 3) appendInline(a, label, 9); else a.textContent = label;
    parent.appendChild(a);
  }

  var LIST_ITEM = /^\s*(?:([-*+•])|(\d{1,3})[.)])\s+(.*)$/;

  // Blocks are separated by blank lines; inside a block, runs of list lines become a list and other runs
  // become a paragraph with line breaks ("Your orders:\n- 1\n- 2" is a paragraph followed by a list).
  function renderMarkdown(text) {
    var root = el("div", { className: "sd-md" });
    String(text || "").replace(/\r\n?/g, "\n").split(/\n{2,}/).forEach(function (block) {
      var run = null;
      block.split("\n").forEach(function (line) {
        if (!line.trim()) return;
        var item = LIST_ITEM.exec(line);
        if (item) {
          var ordered = !!item[2];
          if (!run || run.kind !== (ordered ? "ol" : "ul")) {
            run = { kind: ordered ? "ol" : "ul", node: el(ordered ? "ol" : "ul") };
            if (ordered && item[2] !== "1") run.node.setAttribute("start", item[2]);
            root.appendChild(run.node);
          }
          var li = el("li");
          appendInline(li, item[3], 0);
          run.node.appendChild(li);
          return;
        }
        if (!run || run.kind !== "p") {
          run = { kind: "p", node: el("p") };
          root.appendChild(run.node);
        } else {
          run.node.appendChild(el("br"));
        }
        appendInline(run.node, line, 0);
      });
    });
    return root;
  }

  // ---- message model: everything becomes "parts" (text+buttons, image, carousel) -----------------------
  function customParts(custom) {
    if (!custom || typeof custom !== "object") return [];
    if (custom.type === "product_carousel" && Array.isArray(custom.products)) {
      return [{ kind: "carousel", products: custom.products, text: custom.text || "" }];
    }
    if (typeof custom.text === "string" && custom.text) return [{ kind: "text", text: custom.text, buttons: [] }];
    return [];
  }

  function buttonsOf(list) {
    return (Array.isArray(list) ? list : []).filter(function (b) { return b && (b.title || b.payload); })
      .map(function (b) { return { title: String(b.title || b.payload), payload: String(b.payload || b.title) }; });
  }

  function agentOf(msg) {
    return typeof msg.agent === "string" && msg.agent.trim() ? msg.agent.trim().slice(0, 80) : null;
  }

  function partsFromLive(msg) {
    if (!msg || typeof msg !== "object") return [];
    var parts = [];
    var buttons = buttonsOf(msg.quick_replies || msg.buttons);
    if (typeof msg.text === "string" && (msg.text || buttons.length)) {
      parts.push({ kind: "text", text: msg.text, buttons: buttons, agent: agentOf(msg) });
    }
    if (msg.custom) parts = parts.concat(customParts(msg.custom));
    else if (msg.type === "product_carousel") parts = parts.concat(customParts(msg));
    var image = msg.image || (msg.attachment && msg.attachment.type === "image" && msg.attachment.payload &&
      msg.attachment.payload.src);
    if (typeof image === "string" && image) parts.push({ kind: "image", url: image });
    return parts;
  }

  function partsFromHistory(m) {
    if (m.role === "user") {
      return [{ kind: "user", text: m.text || "", image: m.image || null, id: m.message_id || null }];
    }
    var parts = [];
    var buttons = buttonsOf(m.buttons);
    if (m.text || buttons.length) parts.push({ kind: "text", text: m.text || "", buttons: buttons, agent: agentOf(m) });
    parts = parts.concat(customParts(m.custom));
    if (m.image) parts.push({ kind: "image", url: m.image });
    return parts;
  }

  function signature(part) {
    return part.kind + "|" + (part.text || "") + "|" + JSON.stringify(part.buttons || part.products || part.url || "");
  }

  // ---- building the widget -----------------------------------------------------------------------------
  var host = el("div", { id: "shopdesk-widget", className: "shopdesk-host" });
  host.setAttribute("data-position", config.position);
  Object.keys(THEME).forEach(function (option) {
    var value = ds[option] || (extra.theme || {})[option];
    if (value) host.style.setProperty(THEME[option], value);
  });
  if (ds.zIndex) host.style.setProperty("--shopdesk-z", ds.zIndex);
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  root.appendChild(el("link", { rel: "stylesheet", href: config.server + "/widget/shopdesk.css?v=" + VERSION }));

  var panelId = "shopdesk-panel";
  var badge = el("span", { className: "sd-badge", "aria-hidden": "true", hidden: true });
  var launcher = el("button", {
    type: "button", className: "sd-launcher", "aria-label": t("open"), "aria-expanded": "false",
    "aria-controls": panelId, "data-testid": "shopdesk-launcher", onclick: function () { toggle(); }
  }, [icon("chat"), el("span", { className: "sd-launcher-close", "aria-hidden": "true" }, [icon("close")]), badge]);

  var statusDot = el("span", { className: "sd-dot", "aria-hidden": "true" });
  var statusText = el("span", { className: "sd-status-text", text: t("connecting") });
  var status = el("p", { className: "sd-status", role: "status", "aria-live": "polite", "data-state": "connecting" },
    [statusDot, statusText]);
  var shopAvatar = config.avatar && safeUrl(config.avatar, false)
    ? el("img", { className: "sd-avatar", src: safeUrl(config.avatar, false), alt: "" })
    : el("span", { className: "sd-avatar sd-avatar-initial", "aria-hidden": "true", text: config.title.charAt(0) });
  var agentAvatar = el("span", { className: "sd-avatar sd-avatar-initial sd-avatar-agent", "aria-hidden": "true",
    hidden: true, "data-testid": "shopdesk-agent-avatar" });
  var newButton = el("button", {
    type: "button", className: "sd-icon-button sd-new", "aria-label": t("newConversation"), title: t("newConversation"),
    "data-testid": "shopdesk-new", onclick: function () { askNewConversation(); }
  }, [icon("plus")]);
  var closeButton = el("button", {
    type: "button", className: "sd-icon-button sd-close", "aria-label": t("close"), title: t("close"),
    onclick: function () { close(); }
  }, [icon("close")]);
  var titleNode = el("h2", { id: "shopdesk-title", className: "sd-title", text: config.title, tabindex: "-1" });
  var subtitleNode = el("p", { className: "sd-subtitle", text: config.subtitle, "data-testid": "shopdesk-subtitle" });
  // Who the shopper is talking to (the bot, the queue, an agent), said once when it changes.
  var withNode = el("p", { className: "sd-visually-hidden", role: "status", "aria-live": "polite",
    "data-testid": "shopdesk-with" });
  var header = el("header", { className: "sd-header" }, [
    shopAvatar, agentAvatar,
    el("div", { className: "sd-heading" }, [titleNode, subtitleNode, status, withNode]),
    newButton, closeButton
  ]);

  var alertBox = el("div", { className: "sd-alert", role: "alert", hidden: true, "data-testid": "shopdesk-alert" });
  var confirmBox = el("div", { className: "sd-confirm", role: "alertdialog", "aria-modal": "false", hidden: true,
    "aria-labelledby": "shopdesk-confirm-text", "data-testid": "shopdesk-confirm" }, [
    el("p", { id: "shopdesk-confirm-text", text: t("confirmNew") }),
    el("div", { className: "sd-confirm-actions" }, [
      el("button", { type: "button", className: "sd-button sd-button-primary", text: t("confirmNewYes"),
        "data-testid": "shopdesk-confirm-new", onclick: function () { hideConfirm(); newConversation(); } }),
      el("button", { type: "button", className: "sd-button", text: t("confirmNewNo"),
        "data-testid": "shopdesk-confirm-cancel", onclick: function () { hideConfirm(); newButton.focus(); } })
    ])
  ]);
  var log = el("div", {
    className: "sd-log", role: "log", "aria-live": "polite", "aria-label": t("conversation"), tabindex: "0",
    "data-testid": "shopdesk-log"
  });
  var typing = el("div", { className: "sd-typing", hidden: true, role: "status", "aria-label": t("typing"),
    "data-testid": "shopdesk-typing" }, [el("span"), el("span"), el("span")]);

  var fileInput = el("input", { type: "file", accept: "image/png,image/jpeg,image/webp,image/gif", hidden: true,
    tabindex: "-1", "data-testid": "shopdesk-file", onchange: function () { onFileChosen(); } });
  var input = el("textarea", { className: "sd-input", rows: "1", maxlength: "2000", placeholder: t("placeholder"),
    "aria-label": t("messageLabel"), "data-testid": "shopdesk-input" });
  var attachButton = el("button", { type: "button", className: "sd-icon-button sd-attach", "aria-label": t("attach"),
    title: t("attach"), "data-testid": "shopdesk-attach", onclick: function () { fileInput.click(); } },
    [icon("attach")]);
  var sendButton = el("button", { type: "submit", className: "sd-send", "aria-label": t("send"),
    "data-testid": "shopdesk-send" }, [icon("send")]);
  // An image waiting to be sent: its preview, name and a remove button; the message box is its caption.
  var stagedImg = el("img", { className: "sd-staged-image", alt: "" });
  var stagedName = el("span", { className: "sd-staged-name" });
  var staged = el("div", { className: "sd-staged", hidden: true, "data-testid": "shopdesk-staged" }, [
    stagedImg, stagedName,
    el("button", { type: "button", className: "sd-icon-button sd-staged-remove", "aria-label": t("removeImage"),
      title: t("removeImage"), "data-testid": "shopdesk-staged-remove", onclick: function () { unstage(true); } },
      [icon("close")])
  ]);
  var form = el("form", { className: "sd-composer", onsubmit: function (e) { e.preventDefault(); submitInput(); } },
    [attachButton, fileInput, input, sendButton]);
  var dropHint = el("div", { className: "sd-drop", hidden: true, "aria-hidden": "true", text: t("dropHere") });

  var panel = el("section", { id: panelId, className: "sd-panel", role: "dialog", "aria-modal": "false",
    "aria-labelledby": "shopdesk-title", hidden: true, tabindex: "-1", "data-testid": "shopdesk-panel" },
    [header, alertBox, confirmBox, log, typing, staged, form, dropHint]);
  var nudge = el("div", { className: "sd-nudge", hidden: true, "data-testid": "shopdesk-nudge" });
  root.appendChild(panel);
  root.appendChild(nudge);
  root.appendChild(launcher);

  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submitInput();
    }
  });
  input.addEventListener("input", function () {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
    saveDraft();
  });
  input.addEventListener("paste", function (e) {
    var files = e.clipboardData && e.clipboardData.files;
    var image = files && Array.prototype.filter.call(files, function (f) { return /^image\//.test(f.type); })[0];
    if (image) { e.preventDefault(); stage(image); }
  });
  panel.addEventListener("dragover", function (e) {
    if (!e.dataTransfer || Array.prototype.indexOf.call(e.dataTransfer.types || [], "Files") === -1) return;
    e.preventDefault();
    dropHint.hidden = false;
  });
  panel.addEventListener("dragleave", function (e) { if (e.target === dropHint) dropHint.hidden = true; });
  panel.addEventListener("drop", function (e) {
    dropHint.hidden = true;
    var file = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
    if (!file) return;
    e.preventDefault();
    stage(file);
  });
  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") {
      e.stopPropagation();
      if (!confirmBox.hidden) { hideConfirm(); newButton.focus(); } else close();
    } else if (e.key === "Tab" && isFullScreen()) {
      trapFocus(e);
    }
  });

  // ---- panel state, unread badge ------------------------------------------------------------------------
  // Phones (narrow, or short in landscape) get the panel full screen: it is then modal and keeps focus.
  var FULL_SCREEN = "(max-width: 480px), (max-height: 500px)";
  function isFullScreen() { return !!(window.matchMedia && window.matchMedia(FULL_SCREEN).matches); }
  function isTouch() {
    var coarse = !!(window.matchMedia && window.matchMedia("(pointer: coarse)").matches);
    return coarse || (navigator.maxTouchPoints > 0 && isFullScreen());
  }

  function focusables() {
    return Array.prototype.filter.call(panel.querySelectorAll(
      "button, textarea, input:not([type=file]), a[href], [tabindex='0']"), function (n) {
      return !n.disabled && n.getClientRects().length > 0;
    });
  }

  function trapFocus(e) {
    var items = focusables();
    if (!items.length) return;
    var first = items[0], last = items[items.length - 1], active = root.activeElement || document.activeElement;
    if (e.shiftKey && (active === first || active === panel)) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && active === last) { e.preventDefault(); first.focus(); }
  }

  function open() {
    state.isOpen = true;
    panel.hidden = false;
    nudge.hidden = true;
    panel.setAttribute("aria-modal", isFullScreen() ? "true" : "false");
    launcher.setAttribute("aria-expanded", "true");
    host.setAttribute("data-open", "true");
    setUnread(0);
    try { sessionStorage.setItem(KEY + "open", "1"); } catch (e) { /* ignore */ }
    scrollToEnd();
    // A touch screen's keyboard would cover half the panel before the shopper has read anything.
    if (isTouch()) panel.focus(); else input.focus();
  }

  function close() {
    state.isOpen = false;
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    host.removeAttribute("data-open");
    try { sessionStorage.removeItem(KEY + "open"); } catch (e) { /* ignore */ }
    setUnread(state.unread);
    launcher.focus();
  }

  function toggle() { if (state.isOpen) close(); else open(); }

  function setUnread(n) {
    state.unread = n;
    store.set("unread", n);
    badge.hidden = n <= 0;
    badge.textContent = n > 9 ? "9+" : String(n);
    var label = state.isOpen ? t("close") : t("open");
    if (n > 0) label += " — " + (n === 1 ? t("unreadOne") : t("unread", { n: n }));
    launcher.setAttribute("aria-label", label);
  }

  function noteIncoming(count) {
    if (!state.isOpen || document.hidden) setUnread(state.unread + count);
  }

  function showAlert(message, action) {
    alertBox.textContent = "";
    alertBox.appendChild(el("span", { text: message }));
    if (action) alertBox.appendChild(el("button", { type: "button", className: "sd-alert-action", text: action.label,
      onclick: action.run }));
    alertBox.appendChild(el("button", { type: "button", className: "sd-alert-dismiss", "aria-label": t("dismiss"),
      text: "×", onclick: clearAlert }));
    alertBox.hidden = false;
  }

  function clearAlert() { alertBox.hidden = true; alertBox.textContent = ""; }

  function setConnection(name, detail) {
    state.connection = name;
    status.setAttribute("data-state", name);
    host.setAttribute("data-connection", name);
    var label = { online: t("online"), connecting: t("connecting"), offline: t("offline"),
      reconnecting: t("reconnecting", { n: state.attempt || 1 }), unreachable: t("unreachable") }[name] || name;
    statusText.textContent = detail || label;
    refreshPendingLabels();
  }

  // ---- rendering ---------------------------------------------------------------------------------------
  function formatTime(ms) {
    try {
      return new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : undefined, { hour: "2-digit", minute: "2-digit" })
        .format(new Date(ms));
    } catch (e) { return ""; }
  }

  function timeNode(ms) {
    return el("time", { className: "sd-time", datetime: new Date(ms).toISOString(), text: formatTime(ms) });
  }

  // `agent`: the name of the person from the team who wrote a bot-side message ("system": the team's
  // notices, e.g. who joined); their messages show that name and an avatar, the assistant's stay plain.
  function row(role, ms, content, extraClass, agent) {
    var person = role === "bot" && agent && agent !== "system";
    var wrapper = el("div", { className: "sd-row sd-" + role + (extraClass ? " " + extraClass : "") +
      (person ? " sd-agent" : "") + (agent === "system" ? " sd-system" : ""), "data-role": role });
    if (person) wrapper.setAttribute("data-agent", agent);
    var who = role === "user" ? t("you") : person ? agent + " (" + t("agentRole") + ")"
      : agent === "system" ? t("teamNotice") : t("assistant");
    var label = el("span", { className: "sd-visually-hidden", text: who + ": " });
    var bubble = el("div", { className: "sd-bubble" }, [label].concat(content));
    if (person) {
      var face = el("span", { className: "sd-avatar sd-avatar-initial sd-avatar-small", text: initial(agent) });
      face.style.backgroundColor = avatarColour(agent);   // CSSOM, not a style attribute: the page's CSP allows it
      wrapper.appendChild(el("div", { className: "sd-agent-line", "aria-hidden": "true" }, [
        face, el("span", { className: "sd-agent-name", text: agent + " · " + t("agentRole") })
      ]));
    }
    wrapper.appendChild(bubble);
    var meta = el("div", { className: "sd-meta" }, [timeNode(ms)]);
    wrapper.appendChild(meta);
    return wrapper;
  }

  function initial(name) { return (String(name || "?").trim().charAt(0) || "?").toUpperCase(); }

  // A stable colour per agent name, dark enough for white initials (contrast ≥ 4.5:1).
  function avatarColour(name) {
    var hash = 0;
    for (var i = 0; i < name.length; i++) hash = (hash * 31 + name.charCodeAt(i)) >>> 0;
    return ["#1d4ed8", "#7c3aed", "#0f766e", "#b45309", "#be123c", "#4d7c0f"][hash % 6];
  }

  function disableQuickReplies() {
    Array.prototype.forEach.call(log.querySelectorAll(".sd-quick-replies button"), function (b) {
      b.disabled = true;
    });
  }

  function imageNode(url, alt) {
    var href = safeUrl(url, false);
    if (!href) return null;
    if (state.widgetToken && href.indexOf(config.server + "/uploads/") === 0) return uploadedImage(href, alt);
    var img = el("img", { className: "sd-image", src: href, alt: alt, loading: "lazy" });
    return el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, [img]);
  }

  // An attached image is only shown to the widget holding its conversation: on the shop's site no cookie
  // comes with an <img>, so it is fetched with the widget token and shown from a blob URL.
  function uploadedImage(href, alt) {
    var img = el("img", { className: "sd-image", alt: alt });
    var link = el("a", { target: "_blank", rel: "noopener noreferrer" }, [img]);
    fetch(href, { headers: authHeaders(), credentials: "same-origin" }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.blob();
    }).then(function (blob) {
      var objectUrl = URL.createObjectURL(blob);
      img.src = objectUrl;
      link.href = objectUrl;
    }, function () { img.alt = alt + " (unavailable)"; });
    return link;
  }

  function formatPrice(amount, currency) {
    var number = Number(amount);
    if (!isFinite(number)) return String(amount || "");
    try {
      // The host page's language (the storefront sets it from shop.yml's locale); cards carry their currency.
      var locale = lang === "zh" ? "zh-CN" : (document.documentElement.lang || undefined);
      return new Intl.NumberFormat(locale, currency ? { style: "currency", currency: currency }
        : { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(number);
    } catch (e) { return String(amount); }
  }

  function carouselNode(part) {
    var list = el("ul", { className: "sd-cards", role: "list" });
    part.products.forEach(function (p) {
      if (!p || typeof p !== "object") return;
      var card = el("li", { className: "sd-card", "data-testid": "shopdesk-card" });
      var src = p.image_url ? safeUrl(p.image_url, false) : null;
      if (src) card.appendChild(el("img", { className: "sd-card-image", src: src, alt: String(p.name || ""), loading: "lazy" }));
      card.appendChild(el("h3", { className: "sd-card-name", text: String(p.name || p.sku || "") }));
      if (p.price !== undefined && p.price !== null) {
        card.appendChild(el("p", { className: "sd-card-price", text: formatPrice(p.price, p.currency) }));
      }
      if (p.reason) card.appendChild(el("p", { className: "sd-card-reason", text: String(p.reason) }));
      var actions = el("div", { className: "sd-card-actions" });
      buttonsOf(p.buttons).forEach(function (b) {
        actions.appendChild(el("button", { type: "button", className: "sd-card-button", text: b.title,
          "aria-label": t("aboutProduct", { title: b.title, name: String(p.name || p.sku || "") }),
          onclick: function () { send(b.payload, { display: b.title }); } }));
      });
      card.appendChild(actions);
      list.appendChild(card);
    });
    var scrollBy = function (direction) {
      return function () { list.scrollBy({ left: direction * (list.clientWidth * 0.8), behavior: "smooth" }); };
    };
    var controls = part.products.length > 1 ? el("div", { className: "sd-carousel-controls" }, [
      el("button", { type: "button", className: "sd-scroll", "aria-label": t("previous"), onclick: scrollBy(-1) },
        [el("span", { "aria-hidden": "true", text: "‹" })]),
      el("button", { type: "button", className: "sd-scroll", "aria-label": t("next"), onclick: scrollBy(1) },
        [el("span", { "aria-hidden": "true", text: "›" })])
    ]) : null;
    return el("div", { className: "sd-carousel", role: "region", "aria-label": t("products"),
      "data-testid": "shopdesk-carousel" }, [list, controls]);
  }

  function renderBotPart(part, ms) {
    var node;
    if (part.kind === "text") {
      var content = [renderMarkdown(part.text)];
      node = row("bot", ms, content, part.extraClass, part.agent);
      if (part.buttons && part.buttons.length) {
        var group = el("div", { className: "sd-quick-replies", role: "group" });
        part.buttons.forEach(function (b) {
          group.appendChild(el("button", { type: "button", className: "sd-quick-reply", text: b.title,
            "data-testid": "shopdesk-quick-reply", onclick: function () { send(b.payload, { display: b.title }); } }));
        });
        node.insertBefore(group, node.lastChild);
      }
    } else if (part.kind === "image") {
      var image = imageNode(part.url, t("imageAlt"));
      if (!image) return null;
      node = row("bot", ms, [image], "sd-media");
    } else if (part.kind === "carousel") {
      node = el("div", { className: "sd-row sd-bot sd-wide", "data-role": "bot" },
        [carouselNode(part), el("div", { className: "sd-meta" }, [timeNode(ms)])]);
    }
    if (node) appendToLog(node);
    return node;
  }

  function renderUser(item, ms, pending) {
    disableQuickReplies();
    var content = [];
    if (item.image) {
      var image = imageNode(item.image, t("yourImage"));
      if (image) content.push(image);
    }
    if (item.text) content.push(renderMarkdownPlain(item.text));
    var node = row("user", ms, content, item.image ? "sd-media" : "");
    if (item.id) node.setAttribute("data-message-id", item.id);
    if (pending) {
      node.classList.add("sd-pending");
      node.querySelector(".sd-meta").appendChild(el("span", { className: "sd-delivery" }));
    }
    appendToLog(node);
    refreshPendingLabels();
    return node;
  }

  // User text is shown exactly as typed (no Markdown), still only via textContent.
  function renderMarkdownPlain(text) {
    return el("div", { className: "sd-md sd-plain", text: text });
  }

  function outboxItem(id) {
    return state.outbox.filter(function (i) { return i.id === id; })[0] || null;
  }

  // Every unacknowledged message says honestly where it is: queued (no connection), sending (emitted, no
  // answer yet), or not sent (refused, or no acknowledgement in time) with Retry and Edit.
  function refreshPendingLabels() {
    Array.prototype.forEach.call(log.querySelectorAll(".sd-pending"), function (node) {
      var item = outboxItem(node.getAttribute("data-message-id"));
      var span = node.querySelector(".sd-delivery");
      if (!item || !span) return;
      node.classList.toggle("sd-failed", !!item.failed);
      node.setAttribute("data-delivery", item.failed ? "failed" : state.inFlight[item.id] ? "sending" : "queued");
      span.textContent = "";
      if (item.failed) {
        span.appendChild(el("span", { className: "sd-failed-text",
          text: item.error ? t("failedWhy", { error: item.error }) : t("failed") }));
        span.appendChild(el("button", { type: "button", className: "sd-link-button", text: t("retrySend"),
          "data-testid": "shopdesk-retry-send", onclick: function () { retrySend(item.id); } }));
        if (item.display === null) span.appendChild(el("button", { type: "button", className: "sd-link-button",
          text: t("edit"), "data-testid": "shopdesk-edit-send", onclick: function () { editFailed(item.id); } }));
      } else {
        span.textContent = state.inFlight[item.id] ? t("sending")
          : state.connection === "online" ? t("sending") : t("queued");
      }
    });
  }

  function markDelivered(id) {
    var node = log.querySelector('[data-message-id="' + id + '"]');
    if (!node) return;
    node.classList.remove("sd-pending", "sd-failed");
    node.setAttribute("data-delivery", "sent");
    var label = node.querySelector(".sd-delivery");
    if (label) label.textContent = t("sent");
  }

  function markFailed(id, error) {
    var item = outboxItem(id);
    if (!item) return;
    item.failed = true;
    item.error = error || null;
    persistOutbox();
    refreshPendingLabels();
  }

  function retrySend(id) {
    var item = outboxItem(id);
    if (!item) return;
    item.failed = false;
    item.error = null;
    persistOutbox();
    refreshPendingLabels();
    flushOutbox();
  }

  // A refused message goes back into the message box to be changed; nothing typed is lost.
  function editFailed(id) {
    var item = outboxItem(id);
    if (!item) return;
    state.outbox = state.outbox.filter(function (i) { return i.id !== id; });
    persistOutbox();
    var node = log.querySelector('[data-message-id="' + id + '"]');
    if (node) node.remove();
    input.value = item.text;
    saveDraft();
    input.focus();
  }

  function appendToLog(node) {
    log.appendChild(node);
    scrollToEnd();
  }

  function scrollToEnd() {
    requestAnimationFrame(function () { log.scrollTop = log.scrollHeight; });
  }

  // Typing dots only while the assistant is really working on an answer: never while the conversation
  // waits for a person or a person holds it (nobody would be typing), and never longer than typingTimeoutMs.
  function showTyping(on) {
    clearTimeout(state.typingTimer);
    var h = state.handoff;   // waiting with nobody online: the bot was not paused and keeps answering
    on = on && (h.state === "bot" || (h.state === "waiting" && !h.agents_online));
    typing.hidden = !on;
    if (on) {
      state.typingTimer = setTimeout(function () { typing.hidden = true; }, config.typingTimeoutMs);
      scrollToEnd();
    }
  }

  // ---- the conversation ----------------------------------------------------------------------------------
  function persistOutbox() { store.set("outbox", state.outbox); }

  // Messages written before the web app gave a conversation (cid null) belong to the first one it gives.
  function outboxForConversation() {
    return state.outbox.filter(function (item) { return item.cid === state.conversationId || item.cid === null; });
  }

  function send(text, options) {
    options = options || {};
    text = String(text || "").trim();
    if (!text) return null;
    var item = { id: uuid(), cid: state.conversationId || null, text: text, ts: Date.now(),
      display: options.display === undefined ? null : options.display, metadata: options.metadata || {} };
    state.outbox.push(item);
    persistOutbox();
    renderUser({ id: item.id, text: item.display === null ? item.text : item.display,
      image: item.metadata.attachment ? item.metadata.attachment.url : null }, item.ts, true);
    flushOutbox();
    return item.id;
  }

  function submitInput() {
    if (state.staged) { sendStaged(); return; }
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    input.style.height = "auto";
    send(text);
    saveDraft();
    input.focus();
  }

  // What is in the message box survives a reload (and a failed start) until it is sent.
  function saveDraft() {
    try {
      if (input.value) sessionStorage.setItem(KEY + "draft", input.value);
      else sessionStorage.removeItem(KEY + "draft");
    } catch (e) { /* ignore */ }
  }

  function restoreDraft() {
    try { var draft = sessionStorage.getItem(KEY + "draft"); if (draft && !input.value) input.value = draft; }
    catch (e) { /* ignore */ }
  }

  function messageMetadata(item) {
    var metadata = Object.assign({}, item.metadata);
    if (item.display !== null && item.display !== undefined) metadata.display_text = item.display;
    if (state.session && state.session.customer_token) metadata.customer_token = state.session.customer_token;
    metadata.client = { widget: VERSION, lang: lang, page: location.pathname };
    return metadata;
  }

  // Send queued messages one at a time, in order; each waits for the server's acknowledgement. Only an
  // acknowledgement saying "received" (or "duplicate": it had it already) makes a message "Sent"; a refusal
  // or no answer in time makes it "Not sent" with Retry. A message in flight when the connection drops
  // stays queued and goes again after reconnecting (the server drops repeats of its id).
  function flushOutbox() {
    var socket = state.socket;
    if (!socket || !socket.connected || state.syncing || state.connection !== "online") return;
    var item = outboxForConversation().filter(function (i) { return !state.inFlight[i.id] && !i.failed; })[0];
    if (!item || Object.keys(state.inFlight).length) return;
    if (item.cid === null) { item.cid = state.conversationId; persistOutbox(); }
    state.inFlight[item.id] = true;
    refreshPendingLabels();
    showTyping(true);
    var epoch = state.epoch;
    var metadata = messageMetadata(item);
    var payload = { message: item.text, session_id: item.cid, message_id: item.id, customData: metadata,
      metadata: metadata };
    socket.timeout(config.ackTimeoutMs).emit("user_uttered", payload, function (err, ack) {
      if (epoch !== state.epoch) return;   // the connection changed meanwhile: it is queued again
      delete state.inFlight[item.id];
      var status = ack && ack.status;
      if (err || (status !== "received" && status !== "duplicate")) {
        showTyping(false);
        if (err && !socket.connected) { refreshPendingLabels(); return; }
        markFailed(item.id, err ? t("noAck") : (ack && ack.error) || null);
        flushOutbox();
        return;
      }
      state.outbox = state.outbox.filter(function (i) { return i.id !== item.id; });
      persistOutbox();
      markDelivered(item.id);
      flushOutbox();
    });
  }

  function onBotMessage(msg) {
    var parts = partsFromLive(msg);
    if (!parts.length) return;
    if (parts.some(function (p) { return p.agent; })) refreshHandoffSoon(0);
    else if (state.handoff.state === "bot") refreshHandoffSoon(800);   // e.g. "I'm connecting you…"
    if (state.syncing) { state.syncBuffer = state.syncBuffer.concat(parts); return; }
    showTyping(false);
    parts.forEach(function (p) { renderBotPart(p, Date.now()); });
    noteIncoming(parts.length);
  }

  function api(path, options) {
    options = options || {};
    var headers = Object.assign({ Accept: "application/json" }, authHeaders(), options.headers || {});
    if (options.method && options.method !== "GET" && state.session && state.session.csrf_token) {
      headers["X-ShopDesk-CSRF"] = state.session.csrf_token;
    }
    // Cookies only to ShopDesk's own origin: on the shop's site the widget token speaks for the widget.
    // Errors carry a sentence for the shopper: the server's own message when it wrote one, never a bare
    // status code or a browser's network error text.
    return fetch(config.server + path, { method: options.method || "GET", body: options.body, headers: headers,
      credentials: "same-origin" }).catch(function () {
      var down = new Error(t("serviceDown"));
      down.status = 0;
      throw down;
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          var friendly = response.status < 500 && typeof body.error === "string" && body.error;
          var error = new Error(friendly || t("serviceError"));
          error.status = response.status;
          throw error;
        }
        if (body.widget_token) {
          state.widgetToken = body.widget_token;
          store.set("token", body.widget_token);
        }
        return body;
      });
    });
  }

  function authHeaders() {
    return state.widgetToken ? { Authorization: "Bearer " + state.widgetToken } : {};
  }

  // The calls that decide who the widget speaks for carry the shop's identity token, when it gave one.
  function identityHeaders() {
    return config.customerToken ? { "X-ShopDesk-Identity": config.customerToken } : {};
  }

  // A refused identity token is said once per page and stays said while the chat goes on as a guest.
  function noteIdentity(body) {
    state.identityError = (body && body.identity_error) || null;
    if (state.identityError) showAlert(state.identityError);
  }

  // The server's transcript replaces what is shown; unacknowledged messages it already has are dropped
  // from the outbox (their ack was lost), live messages that arrived meanwhile are kept only if new.
  function syncHistory() {
    state.syncing = true;
    state.syncBuffer = [];
    return api("/api/history").then(function (body) {
      if (body.conversation_id && body.conversation_id !== state.conversationId) {
        // The cookie moved on (e.g. signed out in another tab): join its conversation instead.
        adoptConversation(body.conversation_id);
        setConnection("connecting");       // nothing is sent until the server confirms the new conversation
        rejoin();
        return null;
      }
      log.textContent = "";
      renderEarlier(body.earlier);
      var known = {};
      var botSignatures = [];
      (body.messages || []).forEach(function (m) {
        var ms = m.timestamp ? m.timestamp * 1000 : Date.now();
        partsFromHistory(m).forEach(function (part) {
          if (part.kind === "user") {
            if (part.id) known[part.id] = true;
            renderUser(part, ms, false);
          } else {
            botSignatures.push(signature(part));
            renderBotPart(part, ms);
          }
        });
      });
      if (!(body.messages || []).length) renderWelcome(true);
      var before = state.outbox.length;
      state.outbox = state.outbox.filter(function (i) { return !known[i.id]; });
      if (state.outbox.length !== before) persistOutbox();
      renderOutbox();
      refreshHandoff();
      return botSignatures;
    }, function (error) {
      if (error.status !== 503 || log.childElementCount) return null;
      showAlert(t("historyError"));
      return null;
    }).then(function (botSignatures) {
      var buffered = state.syncBuffer;
      state.syncing = false;
      state.syncBuffer = [];
      var tail = (botSignatures || []).slice(-buffered.length);
      var fresh = buffered.filter(function (part) {
        var at = tail.indexOf(signature(part));
        if (at === -1) return true;
        tail.splice(at, 1);
        return false;
      });
      if (fresh.length) { showTyping(false); fresh.forEach(function (p) { renderBotPart(p, Date.now()); }); noteIncoming(fresh.length); }
      flushOutbox();
    });
  }

  function renderOutbox() {
    outboxForConversation().forEach(function (i) {
      renderUser({ id: i.id, text: i.display === null ? i.text : i.display,
        image: i.metadata && i.metadata.attachment ? i.metadata.attachment.url : null }, i.ts, true);
    });
  }

  // A signed-in customer's earlier conversations (from any of their devices), read-only, above this one.
  function renderEarlier(earlier) {
    if (!Array.isArray(earlier) || !earlier.length) return;
    earlier.forEach(function (conversation) {
      appendToLog(el("p", { className: "sd-notice sd-earlier", "data-testid": "shopdesk-earlier",
        text: t("earlier", { date: formatDate(conversation.started_at) }) }));
      (conversation.messages || []).forEach(function (m) {
        var ms = m.timestamp ? m.timestamp * 1000 : Date.now();
        partsFromHistory(m).forEach(function (part) {
          var node = part.kind === "user" ? renderUser(part, ms, false) : renderBotPart(part, ms);
          if (node) node.classList.add("sd-past");
        });
      });
    });
    disableQuickReplies();
    appendToLog(el("p", { className: "sd-notice sd-earlier", text: t("thisConversation") }));
  }

  function formatDate(iso) {
    try {
      return new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : (document.documentElement.lang || undefined),
        { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso));
    } catch (e) { return String(iso || ""); }
  }

  // The shop's welcome and starter quick replies, on an empty conversation (shown, not sent: the
  // conversation starts with the shopper's first message).
  function renderWelcome(force) {
    var welcome = state.session && state.session.welcome;
    if (!welcome || !welcome.text || (!force && log.querySelector(".sd-row"))) return;
    var node = renderBotPart({ kind: "text", text: welcome.text, buttons: buttonsOf(welcome.quick_replies),
      extraClass: "sd-welcome" }, Date.now());
    if (node) node.setAttribute("data-testid", "shopdesk-welcome");
  }

  // ---- who the shopper is talking to: the assistant, the queue, or a person --------------------------------
  function refreshHandoffSoon(delayMs) {
    clearTimeout(state.handoffTimer);
    state.handoffTimer = setTimeout(refreshHandoff, delayMs);
  }

  // Asked after each (re)connection and after messages that may change it; polled while a person is involved
  // (the place in the queue moves, an agent claims or hands back).
  function refreshHandoff() {
    clearTimeout(state.handoffTimer);
    if (!state.session) return Promise.resolve();
    return api("/api/handoff").then(function (body) {
      if (body.conversation_id && body.conversation_id !== state.conversationId) return;
      applyHandoff(body);
    }, function () { /* keep showing the last known state; the next poll tries again */ }).then(function () {
      if (state.handoff.state !== "bot") refreshHandoffSoon(config.handoffPollMs);
    });
  }

  function applyHandoff(body) {
    var previous = state.handoff;
    state.handoff = body && body.state ? body : { state: "bot" };
    host.setAttribute("data-handoff", state.handoff.state);
    var name = state.handoff.agent && state.handoff.agent.name;
    if (state.handoff.state === "agent" && name) {
      titleNode.textContent = name;
      subtitleNode.textContent = t("agentRole") + " · " + t("talkingTo", { name: name });
      agentAvatar.textContent = initial(name);
      agentAvatar.style.backgroundColor = avatarColour(name);
      agentAvatar.hidden = false;
      shopAvatar.hidden = true;
      showTyping(false);
    } else {
      titleNode.textContent = config.title;
      agentAvatar.hidden = true;
      shopAvatar.hidden = false;
      if (state.handoff.state === "waiting") {
        var h = state.handoff;
        subtitleNode.textContent = h.agents_online ? [t("waitingFor"),
          h.position <= 1 ? t("nextInLine") : t("inQueue", { n: h.position }), t("waitAbout", { m: h.wait_minutes })
        ].join(" · ") : t("nobodyOnline", { hours: h.office_hours || "" });
        if (h.agents_online) showTyping(false);
      } else {
        subtitleNode.textContent = config.subtitle;
      }
    }
    var said = state.handoff.state === "agent" ? t("talkingTo", { name: name }) : subtitleNode.textContent;
    if (previous.state !== state.handoff.state || (previous.agent || {}).name !== name) withNode.textContent = said;
  }

  function adoptConversation(id) {
    state.conversationId = id;
    store.set("conversation", id);
    var unassigned = state.outbox.filter(function (i) { return i.cid === null; });
    unassigned.forEach(function (i) { i.cid = id; });
    if (unassigned.length) persistOutbox();
  }

  function newConversation() {
    return api("/api/conversations", { method: "POST", headers: identityHeaders() }).then(function (body) {
      state.outbox = state.outbox.filter(function (i) { return i.cid !== state.conversationId; });
      persistOutbox();
      if (state.session) {
        state.session.session_token = body.session_token;
        state.session.customer_token = body.customer_token;
      }
      adoptConversation(body.conversation_id);
      log.textContent = "";
      showTyping(false);
      clearAlert();
      noteIdentity(body);
      setUnread(0);
      applyHandoff({ state: "bot" });
      appendToLog(el("p", { className: "sd-notice", text: t("newConversationDone") }));
      renderWelcome();
      if (state.socket) { state.socket.disconnect(); state.socket.connect(); }
      input.focus();
    }, function (error) { showAlert(error.message); });
  }

  // "+" ends this chat: asked first, unless there is nothing to lose yet.
  function askNewConversation() {
    if (!log.querySelector(".sd-user")) { newConversation(); return; }
    confirmBox.hidden = false;
    confirmBox.querySelector("[data-testid=shopdesk-confirm-cancel]").focus();
  }

  function hideConfirm() { confirmBox.hidden = true; }

  // ---- image attachments -----------------------------------------------------------------------------------
  // Chosen, pasted or dropped, an image is first staged: a preview above the message box, which becomes its
  // caption; it is uploaded and sent only with Send, and stays staged (with its caption) if that fails.
  var MAX_CAPTION_CHARS = 200;   // what the transcript shows back as the image's caption (web/transcript.py)

  function onFileChosen() {
    var file = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    if (file) stage(file);
  }

  function stage(file) {
    var limits = (state.session && state.session.upload) || { max_bytes: 5242880, types: [] };
    if (limits.types.length && limits.types.indexOf(file.type) === -1) { showAlert(t("uploadType")); return; }
    if (file.size > limits.max_bytes) {
      showAlert(t("uploadTooBig", { mb: Math.round(limits.max_bytes / 1048576) }));
      return;
    }
    unstage(false);
    clearAlert();
    state.staged = { file: file, url: URL.createObjectURL(file) };
    stagedImg.src = state.staged.url;
    stagedImg.alt = t("imageReady", { name: file.name || t("imageAlt") });
    stagedName.textContent = file.name || t("imageAlt");
    staged.hidden = false;
    input.placeholder = t("caption");
    input.setAttribute("maxlength", String(MAX_CAPTION_CHARS));
    input.focus();
  }

  function unstage(refocus) {
    if (state.staged) URL.revokeObjectURL(state.staged.url);
    state.staged = null;
    staged.hidden = true;
    stagedImg.removeAttribute("src");
    input.placeholder = t("placeholder");
    input.setAttribute("maxlength", "2000");
    if (refocus) input.focus();
  }

  function sendStaged() {
    var file = state.staged.file;
    var caption = input.value.trim();
    var body = new FormData();
    body.append("image", file, file.name || "image");
    setBusy(true, t("uploading"));
    api("/api/attachments", { method: "POST", body: body }).then(function (saved) {
      setBusy(false);
      unstage(false);
      input.value = "";
      input.style.height = "auto";
      saveDraft();
      // "/share_image{"image_url": "/uploads/…"}": the bot gets the URL as an entity, the agent sees it in the
      // text; the caption is what the shopper sees (display_text) and travels with the attachment.
      var payload = config.attachmentPayload.charAt(0) === "/"
        ? config.attachmentPayload + JSON.stringify({ image_url: saved.url }) : config.attachmentPayload;
      send(payload, { display: caption, metadata: { attachment: { type: "image", url: saved.url,
        id: saved.id, return_request_id: saved.return_request_id, caption: caption } } });
      input.focus();
    }, function (error) {
      setBusy(false);
      showAlert(t("uploadFailed", { error: error.message }));
    });
  }

  function setBusy(on, message) {
    attachButton.disabled = on;
    sendButton.disabled = on;
    if (on) appendToLog(el("p", { className: "sd-notice sd-busy", text: message }));
    else Array.prototype.forEach.call(log.querySelectorAll(".sd-busy"), function (n) { n.remove(); });
  }

  // ---- connection ------------------------------------------------------------------------------------------
  function loadSocketClient() {
    if (window.io) return Promise.resolve(window.io);
    return new Promise(function (resolve, reject) {
      var tag = document.createElement("script");
      tag.src = config.server + "/widget/vendor/socket.io.min.js";
      tag.async = true;
      tag.onload = function () { window.io ? resolve(window.io) : reject(new Error("socket.io client missing")); };
      tag.onerror = function () { reject(new Error("socket.io client missing")); };
      document.head.appendChild(tag);
    });
  }

  function connect(io) {
    var info = state.session.socket || {};
    var socket = io(config.socketUrl || info.url, {
      path: config.socketPath || info.path || "/socket.io/",
      transports: ["websocket", "polling"],
      reconnection: true, reconnectionDelay: 1000, reconnectionDelayMax: 15000, randomizationFactor: 0.5,
      timeout: 10000
    });
    state.socket = socket;
    socket.on("connect", function () {
      state.attempt = 0;
      setConnection("connecting");
      requestSession();
    });
    socket.on("session_token", function (data) {
      if (data && data.session_id === state.conversationId && data.session_token && state.session) {
        state.session.session_token = data.session_token;    // a fresh one for the next reconnect
      }
    });
    socket.on("session_confirm", function (sessionId) {
      var id = typeof sessionId === "string" ? sessionId : sessionId && sessionId.session_id;
      if (id && id !== state.conversationId) { refused(); return; }
      state.refusals = 0;
      clearAlert();
      if (state.identityError) showAlert(state.identityError);
      setConnection("online");
      syncHistory();
    });
    socket.on("bot_uttered", onBotMessage);
    socket.on("disconnect", function (reason) {
      state.inFlight = {};
      state.epoch += 1;
      if (reason === "io client disconnect") return;
      setConnection(navigator.onLine === false ? "offline" : "reconnecting");
    });
    socket.on("connect_error", function () {
      setConnection(navigator.onLine === false ? "offline" : (state.attempt >= 3 ? "unreachable" : "reconnecting"));
      if (state.attempt >= 3) showAlert(t("unreachable"), { label: t("retry"), run: function () { socket.connect(); } });
    });
    socket.io.on("reconnect_attempt", function (n) {
      state.attempt = n;
      if (state.connection !== "offline") setConnection(n >= 3 ? "unreachable" : "reconnecting");
    });
  }

  function requestSession() {
    if (!state.socket) return;
    state.socket.emit("session_request", { session_id: state.conversationId,
      session_token: state.session ? state.session.session_token : null });
  }

  // The server did not let this socket into our conversation (token expired or the conversation was
  // signed out of): ask the web app which conversation this browser holds now, with a fresh token, once.
  function refused() {
    state.refusals += 1;
    if (state.refusals > 1) {
      setConnection("unreachable", t("rejoinFailed"));
      showAlert(t("rejoinFailed") + " " + t("keptNote"), { label: t("retry"), run: function () {
        state.refusals = 0;
        clearAlert();
        rejoin();
      } });
      return;
    }
    rejoin();
  }

  function rejoin() {
    return api("/api/session", { headers: identityHeaders() }).then(function (session) {
      state.session = session;
      noteIdentity(session);
      if (session.conversation_id !== state.conversationId) {
        adoptConversation(session.conversation_id);
        log.textContent = "";
      }
      host.setAttribute("data-conversation-id", state.conversationId);
      requestSession();
    }, function (error) {
      showAlert(error.message + " " + t("keptNote"), { label: t("retry"), run: function () { clearAlert(); rejoin(); } });
    });
  }

  window.addEventListener("offline", function () { setConnection("offline"); });
  window.addEventListener("online", function () {
    if (state.socket && !state.socket.connected) { setConnection("reconnecting"); state.socket.connect(); }
  });
  document.addEventListener("visibilitychange", function () { if (!document.hidden && state.isOpen) setUnread(0); });

  function start() {
    (document.body || document.documentElement).appendChild(host);
    setUnread(state.unread);
    restoreDraft();
    var wasOpen = false;
    try { wasOpen = sessionStorage.getItem(KEY + "open") === "1"; } catch (e) { /* ignore */ }
    if (config.open || wasOpen) open();
    // Until the server's transcript arrives, show what this browser still has to send.
    renderOutbox();
    scheduleNudge();
    startSession();
  }

  // The web app gives the conversation; while it can't, the widget says so, really tries again (with a
  // growing pause, or at once on "Retry now"), and keeps everything typed meanwhile in the outbox.
  function startSession() {
    clearTimeout(state.sessionTimer);
    setConnection("connecting");
    api("/api/session", { headers: identityHeaders() }).then(function (session) {
      state.sessionAttempt = 0;
      clearAlert();
      state.session = session;
      noteIdentity(session);
      if (session.conversation_id !== state.conversationId) {
        log.textContent = "";
        adoptConversation(session.conversation_id);
        renderOutbox();
      }
      host.setAttribute("data-conversation-id", state.conversationId);
      renderWelcome();
      return loadSocketClient().then(connect, function () {
        setConnection("unreachable", t("serviceDown"));
        showAlert(t("serviceDown") + " " + t("keptNote"), { label: t("retry"), run: function () {
          clearAlert();
          loadSocketClient().then(connect, function () { showAlert(t("serviceDown") + " " + t("keptNote")); });
        } });
      });
    }, function (error) {
      state.sessionAttempt += 1;
      var delay = Math.min(30, 2 * Math.pow(2, state.sessionAttempt - 1));
      setConnection("unreachable", t("serviceDown"));
      countdown(error.message, delay);
    });
  }

  // Said once (the alert is a live region: a ticking count would be read out every second).
  function countdown(message, seconds) {
    var retryNow = { label: t("retry"), run: function () { showAlert(message + " " + t("retrying")); startSession(); } };
    showAlert(message + " " + t("retryingIn", { s: seconds }) + " " + t("keptNote"), retryNow);
    state.sessionTimer = setTimeout(function () { showAlert(message + " " + t("retrying")); startSession(); },
      seconds * 1000);
  }

  // ---- proactive nudge (opt-in) ----------------------------------------------------------------------------
  function scheduleNudge() {
    if (!(config.nudgeAfterS > 0) || state.isOpen) return;
    if (config.nudgePages.length && !config.nudgePages.some(function (p) { return location.pathname.indexOf(p) === 0; })) return;
    try { if (sessionStorage.getItem(KEY + "nudged")) return; } catch (e) { /* ignore */ }
    setTimeout(showNudge, config.nudgeAfterS * 1000);
  }

  function showNudge() {
    if (state.isOpen || log.querySelector(".sd-user")) return;
    try { sessionStorage.setItem(KEY + "nudged", "1"); } catch (e) { /* ignore */ }
    var assistantName = (state.session && state.session.welcome && state.session.welcome.assistant) || config.title;
    var text = config.nudgeText || t("nudge", { name: assistantName });
    nudge.textContent = "";
    nudge.appendChild(el("button", { type: "button", className: "sd-nudge-open", text: text,
      "aria-label": t("openNudge", { text: text }), "data-testid": "shopdesk-nudge-open", onclick: function () { open(); } }));
    nudge.appendChild(el("button", { type: "button", className: "sd-nudge-dismiss", "aria-label": t("dismiss"),
      text: "×", onclick: function () { nudge.hidden = true; } }));
    nudge.setAttribute("role", "status");
    nudge.hidden = false;
  }

  window.ShopDesk = {
    version: VERSION,
    open: open, close: close, toggle: toggle,
    send: function (text) { return send(text); },
    newConversation: newConversation,
    // The shop's signed identity token for its signed-in customer (null: a guest); takes effect at once.
    identify: function (token) {
      config.customerToken = token || null;
      return rejoin();
    },
    renderMarkdown: renderMarkdown,
    state: function () {
      return { connection: state.connection, conversationId: state.conversationId, outbox: outboxForConversation().length,
        failed: outboxForConversation().filter(function (i) { return i.failed; }).length,
        unread: state.unread, open: state.isOpen, handoff: state.handoff.state };
    },
    // For tests and shop integrations that want to simulate losing the connection.
    disconnect: function () { if (state.socket) { state.socket.disconnect(); setConnection("offline"); } },
    reconnect: function () { if (state.socket) { setConnection("reconnecting"); state.socket.connect(); } }
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
