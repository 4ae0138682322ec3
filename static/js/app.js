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
  // Messages come translated from the page (base.html's data-msg-* on <body>).
  function message(name, status) {
    var text = (document.body && document.body.getAttribute("data-msg-" + name)) || "";
    return text.replace("{status}", String(status || ""));
  }

  function alertBox(text) {
    var box = document.createElement("div");
    box.className = "alert alert-error";
    box.setAttribute("role", "alert");
    box.textContent = text;
    return box.outerHTML;
  }

  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    var text = xhr.responseText || "";
    if (text.indexOf('role="alert"') !== -1 && text.indexOf("<html") === -1) {
      showAlert(text);
    } else {
      showAlert(alertBox(message("failed", xhr.status)));
    }
  });

  document.addEventListener("htmx:sendError", function () {
    showAlert(alertBox(message("unreachable")));
  });

  // ---- Focus after in-page updates (WCAG 2.4.3 focus order, 3.3.1 error identification).
  // Swaps use outerHTML, so the element htmx reports as the target is the one just removed:
  // look in the new nodes instead (htmx fires htmx:afterSwap on each of them).
  var FOCUSABLE = 'a[href], button:not([disabled]), input:not([type="hidden"]):not([disabled]), ' +
    'select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';
  var ERRORS = '[aria-invalid="true"], .field-error, [role="alert"]';

  function focusElement(elt) {
    if (!elt.matches(FOCUSABLE) && !elt.hasAttribute("tabindex")) { elt.setAttribute("tabindex", "-1"); }
    elt.focus();
  }

  function findIn(roots, selector) {
    for (var i = 0; i < roots.length; i++) {
      var root = roots[i];
      if (!root.isConnected) { continue; }
      if (root.matches(selector)) { return root; }
      var found = root.querySelector(selector);
      if (found) { return found; }
    }
    return null;
  }

  function focusLost() {
    var active = document.activeElement;
    return !active || active === document.body || active === document.documentElement || !active.isConnected;
  }

  // The swap's own content comes last (out-of-band pieces are swapped first) and keeps the
  // target's id for outerHTML swaps, or is the target itself for innerHTML swaps.
  function mainContent(roots, target) {
    for (var i = 0; i < roots.length; i++) {
      if (roots[i] === target || (target && target.id && roots[i].id === target.id)) { return roots[i]; }
    }
    return roots[roots.length - 1];
  }

  function focusAfterSwap(roots, target) {
    // 1. What the server marked ([data-autofocus]: an error summary, a status, a new heading),
    // 2. else the first error, 3. else, only if the swap took focus away with the old
    // content, the first control of the new content (or the content itself).
    var elt = findIn(roots, "[data-autofocus]") || findIn(roots, ERRORS);
    if (elt) { focusElement(elt); return; }
    if (!focusLost()) { return; }  // htmx already put focus back on an element with the same id
    var main = mainContent(roots, target);
    if (!main || !main.isConnected) { return; }
    focusElement(main.matches(FOCUSABLE) ? main : (main.querySelector(FOCUSABLE) || main));
  }

  var pendingSwaps = [];
  document.addEventListener("htmx:afterSwap", function (evt) {
    var detail = evt.detail;
    if (!(evt.target instanceof Element)) { return; }
    // One swap fires this once per new element, synchronously: gather them, decide once.
    var entry = null;
    for (var i = 0; i < pendingSwaps.length; i++) {
      if (pendingSwaps[i].detail === detail) { entry = pendingSwaps[i]; }
    }
    if (!entry) {
      entry = { detail: detail, roots: [], target: detail.target };
      pendingSwaps.push(entry);
      window.setTimeout(function () {
        pendingSwaps.splice(pendingSwaps.indexOf(entry), 1);
        focusAfterSwap(entry.roots, entry.target);
      }, 0);
    }
    entry.roots.push(evt.target);
  });

  // A full page load (a form re-rendered with its errors, a review step) gets the same
  // treatment once, unless something already has focus.
  function focusOnLoad() {
    var elt = document.querySelector("[data-autofocus]");
    if (elt && focusLost()) { focusElement(elt); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusOnLoad);
  } else {
    focusOnLoad();
  }

  // ---- Confirmation of irreversible actions (progressive: the server still checks them all).
  // The question may sit on the submitting button, on the form, or on a chosen value (an
  // <option> or a checked radio, e.g. "remove" in a bulk action list, "ban" among sanctions).
  function confirmQuestion(form, submitter) {
    if (submitter && submitter.getAttribute("data-confirm")) { return submitter.getAttribute("data-confirm"); }
    if (form.getAttribute("data-confirm")) { return form.getAttribute("data-confirm"); }
    var controls = form.elements;
    for (var i = 0; i < controls.length; i++) {
      var control = controls[i];
      if (control.tagName === "SELECT") {
        for (var j = 0; j < control.selectedOptions.length; j++) {
          var option = control.selectedOptions[j];
          if (option.getAttribute("data-confirm")) { return option.getAttribute("data-confirm"); }
        }
      } else if (control.checked && control.getAttribute("data-confirm")) {
        return control.getAttribute("data-confirm");
      }
    }
    return "";
  }

  // Capture phase on the document: runs before htmx's own submit listener on the form, so a
  // cancelled submission never reaches htmx and a plain form never leaves the page.
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!(form instanceof HTMLFormElement)) { return; }
    var question = confirmQuestion(form, evt.submitter);
    if (question && !window.confirm(question)) { evt.preventDefault(); evt.stopImmediatePropagation(); }
  }, true);

  // htmx asks again before issuing the request; a submission was already asked about above
  // (asking twice is the bug this guards against), so only other triggers are handled here.
  document.addEventListener("htmx:confirm", function (evt) {
    var trigger = evt.detail.triggeringEvent;
    if (trigger && trigger.type === "submit") { return; }
    var elt = evt.detail.elt;
    var question = elt.getAttribute && elt.getAttribute("data-confirm");
    if (question) {
      evt.preventDefault();
      if (window.confirm(question)) { evt.detail.issueRequest(true); }
    }
  });
})();
