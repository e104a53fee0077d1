/* Prepaid operator UI: no double submit, keyboard, live quote, reader panel buttons. */
(function () {
  "use strict";

  function submitButtons(form) {
    var inside = Array.prototype.slice.call(form.querySelectorAll("button, input[type=submit]"));
    if (form.id) {
      inside = inside.concat(Array.prototype.slice.call(
        document.querySelectorAll('button[form="' + form.id + '"]')));
    }
    return inside.filter(function (b) { return !b.type || b.type === "submit"; });
  }

  // A form posts once: a double click or a second Enter does nothing. (The server charges a
  // resubmitted idempotency key once anyway.) Forms may ask for a confirmation first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("hx-post") || form.hasAttribute("hx-get")) { return; }
    if (form.dataset.submitted === "1") { event.preventDefault(); return; }
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); return; }
    form.dataset.submitted = "1";
    window.setTimeout(function () {
      submitButtons(form).forEach(function (b) { b.disabled = true; });
    }, 0);
    // A form that may be sent again (a receipt printed in its own tab): this page then shows
    // the new count and offers the reprint, instead of a button left disabled.
    if (form.hasAttribute("data-allow-resubmit")) {
      window.setTimeout(function () { window.location.reload(); }, 1500);
    }
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) { return; }
    document.querySelectorAll("form[data-submitted]").forEach(function (form) {
      delete form.dataset.submitted;
      submitButtons(form).forEach(function (b) { b.disabled = false; });
    });
  });

  // Keyboard: Enter reads the card (or does the page's main action), Esc cancels. Enter in a
  // select of the main action's form does it too (as in a text field; a select would only open
  // its list), so a form of choices alone (卡片制作) is sent from the keyboard.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      var cancel = document.querySelector("[data-hotkey-esc]");
      if (cancel && !document.querySelector(".dropdown-menu.show")) {
        event.preventDefault();
        cancel.click();
      }
      return;
    }
    if (event.key === "Enter" && !event.isComposing) {
      var active = document.activeElement;
      var target = document.querySelector("[data-hotkey-enter]");
      if (!target || target.disabled) { return; }
      var inItsSelect = active && active.tagName === "SELECT" && active.form && active.form === target.form;
      if (active && active !== document.body && !inItsSelect) { return; }
      event.preventDefault();
      target.click();
    }
  });

  // A form marked data-focus-first takes the cursor in its first field (the first one refused,
  // when the page comes back with a refusal) unless the page gives it to something else.
  function firstField(form) {
    return form.querySelector("[aria-invalid=true]") ||
      form.querySelector("select, textarea, input:not([type=hidden])");
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-focus-first]");
    var active = document.activeElement;
    if (!form || document.querySelector("[autofocus]") || (active && active !== document.body)) { return; }
    var field = firstField(form);
    if (field) { field.focus(); }
  });

  // The customer pickers (开户, 补卡): ↓ in the search box goes to the first customer's choose
  // button, ↓ and ↑ go from one to the next, ↑ from the first goes back to the search box; Enter
  // on a button chooses. The cursor stays in the search box when the results come, to search
  // again as easily.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") { return; }
    var active = document.activeElement;
    var picker = active && active.closest ? active.closest("[data-customer-picker]") : null;
    if (!picker) { return; }
    var search = picker.querySelector("input[type=search]");
    var choices = Array.prototype.slice.call(picker.querySelectorAll("[data-pick]"));
    var at = choices.indexOf(active);
    if (at < 0 && active !== search) { return; }
    var next = event.key === "ArrowDown" ? choices[at + 1] : (at === 0 ? search : choices[at - 1]);
    if (next) { event.preventDefault(); next.focus(); }
  });

  // The card store's filter: only the cards whose name holds what is typed stay listed.
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.hasAttribute || !input.hasAttribute("data-card-filter")) { return; }
    var wanted = input.value.trim().toLowerCase();
    var list = input.parentNode.querySelector(".card-store-list");
    list.querySelectorAll("li[data-card]").forEach(function (item) {
      item.hidden = wanted !== "" && item.dataset.card.toLowerCase().indexOf(wanted) < 0;
    });
  });

  // Quantity or amount: the one typed last is sold (basis); the quote fills in the other.
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.form || (input.name !== "quantity" && input.name !== "amount")) { return; }
    var basis = input.form.querySelector("input[name=basis]");
    if (basis) { basis.value = input.name; }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var quote = event.target.querySelector ? event.target.querySelector("[data-quote]") : null;
    if (!quote) { return; }
    var form = event.target.closest("form") || document.getElementById(quote.dataset.form);
    if (!form) { return; }
    var other = quote.dataset.basis === "quantity" ? "amount" : "quantity";
    var field = form.querySelector("input[name=" + other + "]");
    if (field) { field.value = quote.dataset[other] || ""; }
  });

  // The reader panel's 读卡 / 写卡 act on the page's read and write forms.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-reader-action]") : null;
    if (!button) { return; }
    var action = button.getAttribute("data-reader-action");
    var form = document.getElementById(action === "read" ? "read-form" : "write-form");
    event.preventDefault();
    if (form) {
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    } else if (action === "read" && window.htmx) {
      window.htmx.trigger("#reader-panel", "reader-refresh");
    }
  });
  // A panel action (格式化, 插卡, 读卡…) replaces the button clicked, and the focus would fall to
  // the page body, where Enter does nothing: it goes back to the page's field last typed in,
  // else to where the page's keyboard flow starts. A field the operator is in keeps it.
  var lastField = null;
  document.addEventListener("focusin", function (event) {
    var field = event.target;
    if (field.matches && field.matches("input, select, textarea") && !field.closest("#reader-panel")) {
      lastField = field;
    }
  });
  function usable(element) {
    return element && element.isConnected && !element.disabled && element.getClientRects().length > 0;
  }
  function onPage(selector) {
    return Array.prototype.filter.call(document.querySelectorAll(selector), function (element) {
      return usable(element) && !element.closest("#reader-panel");
    })[0];
  }
  function keyboardStart() {
    var form = document.querySelector("form[data-focus-first]");
    return onPage("[autofocus]") || (form && firstField(form)) || onPage("[data-hotkey-enter]");
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.target || event.target.id !== "reader-panel") { return; }
    var write = event.target.querySelector("[data-reader-action=write]");
    if (write) { write.disabled = !document.getElementById("write-form"); }
    var active = document.activeElement;
    if (active && active !== document.body) { return; }
    var back = usable(lastField) ? lastField : keyboardStart();
    if (back) { back.focus(); }
  });

  // No answer at all to an htmx request (the server down or restarting, the connection
  // dropped): said where a refusal would be (the reader panel's refusals, else the part of the
  // page that asked), or the button would seem dead. The browser cannot tell whether the
  // request reached the server before the connection failed, so only a request that changes
  // nothing (a GET, the live quote: data-changes-nothing) says nothing was done; a card write
  // (格式化: data-card-write) says to read the card to see whether it was written; any other
  // (the card store's buttons, 记录表计读数) that whether it was done is not known. The words
  // are the page's, in the operator's language (base.html, template#unreachable-…).
  function unreachableKind(detail) {
    var elt = detail.elt && detail.elt.closest ? detail.elt : null;
    var verb = detail.requestConfig ? detail.requestConfig.verb : "";
    if (verb === "get" || (elt && elt.closest("[data-changes-nothing]"))) { return "nothing-done"; }
    if (elt && elt.closest("[data-card-write]")) { return "card-write"; }
    return "maybe-done";
  }
  document.addEventListener("htmx:sendError", function (event) {
    var target = event.detail.target;
    var kind = unreachableKind(event.detail);
    var words = document.getElementById("unreachable-" + kind);
    if (!target || !target.isConnected || !words) { return; }
    target.querySelectorAll("[data-code=server_unreachable]").forEach(function (said) { said.remove(); });
    var notice = document.createElement("div");  // as prepaid/web/_refusal.html shows a refusal
    notice.className = "alert alert-danger";
    notice.setAttribute("role", "alert");
    notice.setAttribute("data-error", "");
    notice.setAttribute("data-code", "server_unreachable");
    notice.setAttribute("data-unreachable", kind);
    notice.textContent = words.content.textContent.trim();
    var place = target.querySelector("[data-refusals]");
    if (place) {
      place.insertBefore(notice, place.firstChild);
    } else {
      target.replaceChildren(notice);
    }
  });

  // 开户: the price types offered are the chosen account's (the prices come grouped by account,
  // each group labelled as the account is in the account list).
  function pricesOfAccount(form) {
    var account = form.querySelector("select[name=account]");
    var price = form.querySelector("select[name=price]");
    if (!account || !price || !price.querySelector("optgroup")) { return; }
    var chosen = account.options[account.selectedIndex];
    var label = chosen ? chosen.text : "";
    var first = null;
    price.querySelectorAll("optgroup").forEach(function (group) {
      var mine = group.label === label;
      group.hidden = !mine;
      group.disabled = !mine;
      if (mine && !first && group.querySelector("option")) { first = group.querySelector("option"); }
    });
    var current = price.options[price.selectedIndex];
    if ((!current || current.parentNode.disabled) && first) { first.selected = true; }
  }
  // The quantity's unit beside its input (m³, kWh) is the chosen account's.
  function unitOfAccount(form) {
    var account = form.querySelector("select[name=account]");
    if (!account) { return; }
    form.querySelectorAll("input[data-units]").forEach(function (input) {
      var units = JSON.parse(input.getAttribute("data-units"));
      var label = input.parentNode.querySelector(".input-group-text");
      if (label && units[account.value]) { label.textContent = units[account.value]; }
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.name === "account" && event.target.form) { pricesOfAccount(event.target.form); unitOfAccount(event.target.form); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form").forEach(pricesOfAccount);
  });

  // A receipt opened to print prints itself.
  window.addEventListener("load", function () {
    if (document.body.hasAttribute("data-autoprint")) { window.setTimeout(window.print, 300); }
  });
})();
