// Budget ballots: a running total of what the chosen projects cost (or of the points given)
// against the budget, read out politely to screen readers. The form works without it: the
// review step shows the same total, and the server refuses a choice over the limits.
(function () {
  "use strict";

  // Amounts are exact decimals in data attributes; cents are enough for a running total.
  function cents(text) {
    var parts = String(text || "0").split(".");
    var frac = ((parts[1] || "") + "00").slice(0, 2);
    return parseInt(parts[0] || "0", 10) * 100 + parseInt(frac, 10);
  }

  function show(value, kind) {
    if (kind === "points") { return String(value / 100); }
    try {
      return new Intl.NumberFormat(document.documentElement.lang || undefined, {
        maximumFractionDigits: 2,
      }).format(value / 100);
    } catch (e) {
      return (value / 100).toFixed(2);
    }
  }

  function enhance(fieldset) {
    if (fieldset.dataset.enhanced) { return; }
    fieldset.dataset.enhanced = "1";
    var out = fieldset.querySelector("[data-budget-total]");
    var kind = fieldset.dataset.kind;
    var limit = cents(fieldset.dataset.limit);

    function update() {
      var total = 0;
      if (kind === "points") {
        fieldset.querySelectorAll(".points-input").forEach(function (input) {
          var n = parseInt(input.value, 10);
          if (n > 0) { total += n * 100; }
        });
      } else {
        fieldset.querySelectorAll("input[data-cost]:checked").forEach(function (input) {
          total += cents(input.dataset.cost);
        });
      }
      var text = (fieldset.dataset.msgTotal || "")
        .replace("{total}", show(total, kind)).replace("{limit}", show(limit, kind));
      if (total > limit) {
        text += " " + (fieldset.dataset.msgOver || "").replace("{over}", show(total - limit, kind));
      }
      out.textContent = text;
      out.classList.toggle("over", total > limit);
      out.hidden = false;
    }

    fieldset.addEventListener("change", update);
    fieldset.addEventListener("input", update);
    update();
  }

  function scan(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("[data-budget]").forEach(enhance);
    if (root.matches && root.matches("[data-budget]")) { enhance(root); }
  }

  document.addEventListener("DOMContentLoaded", function () { scan(document); });
  document.addEventListener("htmx:load", function (event) { scan(event.detail.elt); });
})();
