// Live classifier suggestion while the operator types. Optional: without it the
// "Suggest" button asks the server for the same suggestion.
(function () {
  "use strict";
  var form = document.getElementById("call-form");
  var panel = document.getElementById("suggestion");
  if (!form || !panel || !window.fetch) { return; }
  var text = document.getElementById("description");
  var select = document.getElementById("category");
  var district = document.getElementById("district");
  var body = document.getElementById("suggestion-body");
  var facts = document.getElementById("suggestion-template");
  var token = form.querySelector("input[name=csrf_token]").value;
  var timer = null, inFlight = null, lastText = "";
  var touched = select.value !== "", districtTouched = district.value !== "";

  select.addEventListener("change", function () { touched = true; });
  district.addEventListener("change", function () { districtTouched = true; });

  function el(tag, cls, content) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (content !== undefined) { node.textContent = content; }
    return node;
  }
  function pct(x) { return Math.round(x * 100) + " %"; }

  function useCategory(code) {
    select.value = code; touched = true; select.focus();
  }

  var banner = document.getElementById("emergency-banner");
  function showEmergency(e) {
    if (!banner) { return; }
    banner.hidden = !e;
    document.getElementById("emergency-vi").textContent = e ? e.vi : "";
    document.getElementById("emergency-en").textContent = e ? e.en : "";
  }

  function show(s) {
    body.textContent = "";
    showEmergency(s.emergency || null);
    if (s.empty) { body.appendChild(el("p", "muted", panel.dataset.empty)); return; }
    var big = el("p", "big");
    var strong = el("strong", null, s.category_label);
    strong.id = "suggested-category"; strong.dataset.code = s.category;
    big.appendChild(strong); big.appendChild(el("span", "conf", pct(s.confidence)));
    body.appendChild(big);
    var list = el("ol", "top3");
    s.top3.forEach(function (item) {
      var li = el("li", null, item.label + " — " + pct(item.confidence) + " ");
      var button = el("button", null, panel.dataset.use);
      button.type = "button";
      button.addEventListener("click", function () { useCategory(item.code); });
      li.appendChild(button); list.appendChild(li);
    });
    body.appendChild(list);
    var dl = facts.cloneNode(true);
    dl.removeAttribute("id"); dl.hidden = false;
    dl.querySelector("[data-slot=district]").textContent = s.district_label || "—";
    dl.querySelector("[data-slot=department]").textContent = s.department_label || "—";
    var urgency = dl.querySelector("[data-slot=urgency]");
    if (s.urgent) { urgency.appendChild(el("span", "urgent", panel.dataset.urgent)); }
    else { urgency.textContent = urgency.dataset.no; }
    body.appendChild(dl);
    if (s.outcome === "not_a_report") { body.appendChild(el("p", "warn", panel.dataset.notReport)); }
    else if (s.needs_triage) { body.appendChild(el("p", "warn", panel.dataset.triage)); }
    if (!touched) { select.value = s.category; }
    if (!districtTouched && s.district) { district.value = s.district; }
  }

  function ask() {
    var value = text.value.trim();
    if (value === lastText) { return; }
    lastText = value;
    if (inFlight) { inFlight.abort(); }
    inFlight = window.AbortController ? new AbortController() : null;
    fetch(form.dataset.suggestUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token, "Accept": "application/json" },
      body: JSON.stringify({ text: value }),
      signal: inFlight ? inFlight.signal : undefined
    }).then(function (resp) {
      if (!resp.ok) { throw new Error(String(resp.status)); }
      return resp.json();
    }).then(show).catch(function (err) {
      if (err && err.name === "AbortError") { return; }
      body.textContent = ""; body.appendChild(el("p", "error", panel.dataset.error));
    });
  }

  text.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 350);
  });
  if (text.value.trim()) { ask(); }
})();
