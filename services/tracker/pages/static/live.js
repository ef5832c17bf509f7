// Live staff pages: the tracker's Server-Sent Events (/staff/live) say *that* something changed
// (a ticket's id and the kind of change, the unread count, a ticket's viewers); the page then
// reads itself again through its ordinary request and swaps in its regions marked
// data-live-region (by id; data-live-src: where the region comes from, else this page).
// Without JavaScript, or when the stream cannot be opened, the pages work as before (reload,
// the dashboard's own refresh).
(function () {
  "use strict";
  var body = document.body;
  if (!body || !body.dataset.live || !window.EventSource || !window.fetch) { return; }
  var source = null;
  var timer = null;
  var streamUrl = body.dataset.live;
  var isTicketPage = streamUrl.indexOf("view=ticket") !== -1;

  function checkedBoxes(region) {
    var names = {};
    region.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) {
      names[box.name + "=" + box.value] = true;
    });
    return names;
  }

  function swap(region, doc) {
    var fresh = doc.getElementById(region.id);
    var active = document.activeElement;
    if (active && region.contains(active) && active.matches("textarea, select, input:not([type=checkbox])")) {
      return;  // never pull a field from under the user's cursor
    }
    var kept = checkedBoxes(region);
    if (fresh) {
      region.replaceWith(fresh);
      region = fresh;
    } else {  // a fragment: the region's content
      region.replaceChildren.apply(region, Array.prototype.slice.call(doc.body.childNodes));
    }
    region.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      if (kept[box.name + "=" + box.value]) { box.checked = true; }
    });
  }

  function refresh() {
    var bySource = {};
    document.querySelectorAll("[data-live-region]").forEach(function (region) {
      var src = region.dataset.liveSrc || window.location.href;
      (bySource[src] = bySource[src] || []).push(region);
    });
    Object.keys(bySource).forEach(function (src) {
      fetch(src, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (resp) { if (!resp.ok) { throw new Error(String(resp.status)); } return resp.text(); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          bySource[src].forEach(function (region) { swap(region, doc); });
          var next = doc.body && doc.body.dataset.live;
          if (src === window.location.href && next && next !== streamUrl) { connect(next); }
        })
        .catch(function () { /* keep what is shown; the next event tries again */ });
    });
  }

  // at most one refresh a second (a burst of changes, a busy city), at least 100 ms after
  // the change that asked for it
  var last = 0;
  function soon() {
    if (timer !== null) { return; }
    var wait = Math.max(100, last + 1000 - Date.now());
    timer = setTimeout(function () { timer = null; last = Date.now(); refresh(); }, wait);
  }

  function data(event) {
    try { return JSON.parse(event.data); } catch (e) { return {}; }
  }

  function onTicket(event) {
    var what = data(event).what || [];
    if (isTicketPage && (what.indexOf("state") !== -1 || what.indexOf("department") !== -1 ||
                         what.indexOf("changed") !== -1)) {
      var notice = document.getElementById("live-changed");
      if (notice) { notice.hidden = false; }  // the forms below may offer stale moves
    }
    soon();
  }

  function onUnread(event) {
    var count = document.getElementById("unread-count");
    var n = data(event).unread;
    if (count && typeof n === "number") { count.textContent = String(n); }
  }

  function onViewers(event) {
    var line = document.getElementById("viewers");
    var users = data(event).users || [];
    if (!line) { return; }
    line.textContent = users.length ? line.dataset.template.replace("{users}", users.join(", ")) : "";
    line.hidden = users.length === 0;
  }

  function connect(url) {
    if (source) { source.close(); }
    streamUrl = url;
    source = new EventSource(url);
    source.addEventListener("ticket", onTicket);
    source.addEventListener("resync", soon);
    source.addEventListener("unread", onUnread);
    source.addEventListener("viewers", onViewers);
    source.addEventListener("bye", function (event) {
      if (data(event).reason === "logged_out") { source.close(); }
    });
    body.dataset.liveState = "connecting";
    source.addEventListener("open", function () {
      // what changed between the page's rendering (or a lost connection) and now
      soon();
      body.dataset.liveState = "open";
    });
    source.addEventListener("error", function () {
      body.dataset.liveState = source.readyState === EventSource.CLOSED ? "closed" : "connecting";
    });
  }

  connect(streamUrl);
})();
