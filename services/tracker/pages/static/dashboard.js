// Refresh the breach list every few seconds without reloading the page (the page itself
// falls back to a meta refresh when scripts are off).
(function () {
  "use strict";
  var box = document.getElementById("breaches");
  if (!box || !window.fetch) { return; }
  var seconds = parseInt(box.dataset.seconds, 10) || 15;
  function refresh() {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (resp) { if (!resp.ok) { throw new Error(String(resp.status)); } return resp.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        box.replaceChildren.apply(box, Array.prototype.slice.call(doc.body.childNodes));
      })
      .catch(function () { /* keep the last list; try again next time */ })
      .then(function () { setTimeout(refresh, seconds * 1000); });
  }
  setTimeout(refresh, seconds * 1000);
})();
