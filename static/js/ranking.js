// Ranking control: enhances the per-option rank selectors (which work without JavaScript)
// with move up/down buttons, Alt+Arrow keyboard reordering and drag and drop. The selects
// stay the single source of truth that is submitted, so the server sees the same form either
// way. Ranks are always kept contiguous (1, 2, 3 ...): choosing a taken rank shifts the others.
//
// Keyboard and screen readers (WAI-ARIA Authoring Practices: the rearrangeable list and
// "focusability of disabled controls"):
// - focus never leaves the control the person is using. The list is reordered by moving the
//   *other* options around the focused one (moving a focused element in the DOM drops focus);
// - a move button that cannot move further stays focusable with aria-disabled="true" (a
//   disabled button would lose focus the moment it becomes disabled) and does nothing;
// - arrow keys on a closed rank selector change its value at each press: the ranks follow at
//   once, but the list is reordered only when the selector loses focus, so the option does
//   not jump around under the keys; a rank picked with the mouse reorders at once;
// - every change is announced in a polite live region ("Blue: rank 1").
(function () {
  "use strict";

  function fmt(template, name, rank) {
    return (template || "").replace("{name}", name).replace("{rank}", String(rank));
  }

  var KEYS_THAT_CHANGE_A_SELECT = /^(Arrow(Up|Down|Left|Right)|Home|End|Page(Up|Down)|.)$/;

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

    // Put `order` into the list without moving the item that holds focus.
    function reorder(order) {
      var active = document.activeElement;
      var fixed = order.filter(function (it) { return it.contains(active); })[0];
      if (!fixed) {
        order.forEach(function (it) { list.appendChild(it); });
        return;
      }
      var at = order.indexOf(fixed);
      order.slice(0, at).forEach(function (it) { list.insertBefore(it, fixed); });
      var previous = fixed;
      order.slice(at + 1).forEach(function (it) {
        list.insertBefore(it, previous.nextSibling);
        previous = it;
      });
    }

    function setAvailable(button, available) {
      if (available) { button.removeAttribute("aria-disabled"); }
      else { button.setAttribute("aria-disabled", "true"); }
    }

    function refreshButtons() {
      var all = items();
      all.forEach(function (it, i) {
        setAvailable(it.querySelector(".move-up"), i > 0);
        setAvailable(it.querySelector(".move-down"), i < all.length - 1);
      });
    }

    // Write contiguous ranks into the selects: `ranked` first (1, 2, ...), the rest unranked.
    function writeRanks(ranked) {
      items().forEach(function (it) {
        var position = ranked.indexOf(it);
        select(it).value = position === -1 ? "" : String(position + 1);
        it.classList.toggle("ranked", position !== -1);
      });
    }

    // Ranked items first (by rank), unranked after them in their current order.
    function sortList() {
      var ranked = currentRanked();
      var unranked = items().filter(function (it) { return ranked.indexOf(it) === -1; });
      reorder(ranked.concat(unranked));
      refreshButtons();
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
      writeRanks(ranked);
      sortList();
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
            if (button.getAttribute("aria-disabled") === "true") { return; }
            moveTo(item, items().indexOf(item) + spec[3]);  // focus stays on this button
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

      var sel = select(item);
      var byKeyboard = false;
      var sortPending = false;
      sel.addEventListener("keydown", function (evt) {
        byKeyboard = !evt.altKey && KEYS_THAT_CHANGE_A_SELECT.test(evt.key);
      });
      sel.addEventListener("mousedown", function () { byKeyboard = false; });
      sel.addEventListener("change", function () {
        var wanted = rankOf(item);
        var ranked = currentRanked().filter(function (it) { return it !== item; });
        if (wanted) { ranked.splice(Math.min(wanted - 1, ranked.length), 0, item); }
        writeRanks(ranked);
        if (byKeyboard) { sortPending = true; } else { sortList(); }
        announce(item);
      });
      sel.addEventListener("blur", function () {
        if (sortPending) { sortPending = false; sortList(); }
      });

      item.addEventListener("keydown", function (evt) {
        if (!evt.altKey || (evt.key !== "ArrowUp" && evt.key !== "ArrowDown")) { return; }
        evt.preventDefault();
        moveTo(item, items().indexOf(item) + (evt.key === "ArrowUp" ? -1 : 1));
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

    // "Clear my ranking" posts the form without JavaScript; here it clears in place and
    // keeps focus on the button.
    var clear = fieldset.querySelector(".clear-ranking");
    if (clear) {
      clear.addEventListener("click", function (evt) {
        evt.preventDefault();
        writeRanks([]);
        sortList();
        live.textContent = clear.dataset.msgCleared || "";
      });
    }
    writeRanks(currentRanked());
    sortList();
  }

  function init(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("[data-ranking]").forEach(enhance);
    if (root.matches && root.matches("[data-ranking]")) { enhance(root); }
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (evt) { init(evt.detail.elt); });
})();
