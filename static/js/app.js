// civicforum's own behaviour for htmx under a strict CSP (no inline handlers, no eval).
(function () {
  "use strict";

  function alertsRegion() { return document.getElementById("alerts"); }

  function showAlert(html) {
    var region = alertsRegion();
    if (!region) { return; }
    region.innerHTML = html;
    var first = region.firstElementChild;
    if (first) { first.setAttribute("tabindex", "-1"); first.focus(); }
  }

  // Error responses (4xx/5xx except 422, which swaps the re-rendered form) are not dropped:
  // the server's error fragment is shown in the live region at the top of the page.
  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    var text = xhr.responseText || "";
    if (text.indexOf('role="alert"') !== -1 && text.indexOf("<html") === -1) {
      showAlert(text);
    } else {
      showAlert('<div class="alert alert-error" role="alert">Error ' + xhr.status + ": " +
        (xhr.statusText || "the request failed") + "</div>");
    }
  });

  document.addEventListener("htmx:sendError", function () {
    showAlert('<div class="alert alert-error" role="alert">The server could not be reached. ' +
      "Check your connection and try again.</div>");
  });

  // Move focus to an error summary after a swap so keyboard and screen-reader users hear it.
  document.addEventListener("htmx:afterSwap", function (evt) {
    var target = evt.detail.target;
    var focusable = target && target.querySelector && target.querySelector("[data-autofocus]");
    if (focusable) { focusable.focus(); }
  });

  // Destructive actions: forms with data-confirm ask first (progressive: server still checks).
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    var message = form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { evt.preventDefault(); evt.stopImmediatePropagation(); }
  }, true);
  document.addEventListener("htmx:confirm", function (evt) {
    var elt = evt.detail.elt;
    var message = elt.getAttribute && elt.getAttribute("data-confirm");
    if (message) {
      evt.preventDefault();
      if (window.confirm(message)) { evt.detail.issueRequest(true); }
    }
  });
})();
