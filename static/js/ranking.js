// Ranking control: enhances the per-option rank selectors (which work without JavaScript)
// with move up/down buttons, Alt+Arrow keyboard reordering and drag and drop. The selects
// stay the single source of truth that is submitted, so the server sees the same form either
// way. Ranks are always kept contiguous (1, 2, 3 ...): choosing a taken rank shifts the others.
(function () {
  "use strict";

  function fmt(template, name, rank) {
    return (template || "").replace("{name}", name).replace("{rank}", String(rank));
  }

  function enhance(fieldset) {
    if (fieldset.dataset.enhanced) { return; }
    fieldset.dataset.enhanced = "1";
    var list = fieldset.querySelector(".rank-list");
    if (!list) { return; }
    var live = document.createElement("p");
    live.className = "visually-hidden";
    live.setAttribute("aria-live", "polite");
    fieldset.appendChild(live);
    fieldset.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });

    function items() { return Array.prototype.slice.call(list.querySelectorAll(".rank-item")); }
    function select(item) { return item.querySelector(".rank-select"); }
    function label(item) { return item.querySelector(".rank-label").textContent.trim(); }
    function rankOf(item) { return parseInt(select(item).value, 10) || 0; }

    // Put ranked items first (by rank) and unranked after them (keeping their order), then
    // write contiguous ranks back into the selects.
    function apply(ranked) {
      var unranked = items().filter(function (it) { return ranked.indexOf(it) === -1; });
      ranked.concat(unranked).forEach(function (it) { list.appendChild(it); });
      ranked.forEach(function (it, i) { select(it).value = String(i + 1); it.classList.add("ranked"); });
      unranked.forEach(function (it) { select(it).value = ""; it.classList.remove("ranked"); });
      items().forEach(function (it, i) {
        it.querySelector(".move-up").disabled = i === 0;
        it.querySelector(".move-down").disabled = i === items().length - 1;
      });
    }

    function currentRanked() {
      return items().filter(rankOf).sort(function (a, b) { return rankOf(a) - rankOf(b); });
    }

    function announce(item) {
      var r = rankOf(item);
      live.textContent = r ? fmt(fieldset.dataset.msgRanked, label(item), r)
        : fmt(fieldset.dataset.msgUnranked, label(item), 0);
    }

    // Move `item` to position `index` of the list; moving an option ranks it.
    function moveTo(item, index) {
      var order = items().filter(function (it) { return it !== item; });
      index = Math.max(0, Math.min(index, order.length));
      order.splice(index, 0, item);
      var ranked = currentRanked();
      if (ranked.indexOf(item) === -1) { ranked.push(item); }
      ranked = order.filter(function (it) { return ranked.indexOf(it) !== -1; });
      apply(ranked);
      announce(item);
    }

    items().forEach(function (item) {
      var name = label(item);
      var controls = document.createElement("span");
      controls.className = "move-controls";
      [["move-up", "↑", fieldset.dataset.msgUp, -1], ["move-down", "↓", fieldset.dataset.msgDown, 1]]
        .forEach(function (spec) {
          var button = document.createElement("button");
          button.type = "button";
          button.className = "secondary move " + spec[0];
          button.textContent = spec[1];
          button.setAttribute("aria-label", fmt(spec[2], name, 0));
          button.addEventListener("click", function () {
            moveTo(item, items().indexOf(item) + spec[3]);
            button.disabled ? item.querySelector(".move").focus() : button.focus();
          });
          controls.appendChild(button);
        });
      item.insertBefore(controls, select(item));
      var handle = document.createElement("span");
      handle.className = "handle";
      handle.setAttribute("aria-hidden", "true");
      handle.textContent = "⠿";
      item.insertBefore(handle, item.firstChild);
      item.draggable = true;

      select(item).addEventListener("change", function () {
        var wanted = rankOf(item);
        var ranked = currentRanked().filter(function (it) { return it !== item; });
        if (wanted) { ranked.splice(Math.min(wanted - 1, ranked.length), 0, item); }
        apply(ranked);
        announce(item);
      });

      item.addEventListener("keydown", function (evt) {
        if (!evt.altKey || (evt.key !== "ArrowUp" && evt.key !== "ArrowDown")) { return; }
        evt.preventDefault();
        moveTo(item, items().indexOf(item) + (evt.key === "ArrowUp" ? -1 : 1));
        (evt.target.focus || function () {}).call(evt.target);
      });

      item.addEventListener("dragstart", function (evt) {
        item.classList.add("dragging");
        evt.dataTransfer.effectAllowed = "move";
        evt.dataTransfer.setData("text/plain", item.dataset.key);
      });
      item.addEventListener("dragend", function () {
        item.classList.remove("dragging");
        items().forEach(function (it) { it.classList.remove("drop-target"); });
      });
      item.addEventListener("dragover", function (evt) {
        evt.preventDefault();
        item.classList.add("drop-target");
      });
      item.addEventListener("dragleave", function () { item.classList.remove("drop-target"); });
      item.addEventListener("drop", function (evt) {
        evt.preventDefault();
        item.classList.remove("drop-target");
        var key = evt.dataTransfer.getData("text/plain");
        var dragged = items().filter(function (it) { return it.dataset.key === key; })[0];
        if (dragged && dragged !== item) { moveTo(dragged, items().indexOf(item)); }
      });
    });
    apply(currentRanked());
  }

  function init(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("[data-ranking]").forEach(enhance);
    if (root.matches && root.matches("[data-ranking]")) { enhance(root); }
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (evt) { init(evt.detail.elt); });
})();
