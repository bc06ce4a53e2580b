// Comments: the reply and report forms that load under a comment.
//
// Reply and Report are links to a page with the form; htmx loads the form under the comment
// instead. Clicking the link again must not replace a form the reader may have typed into:
// go back to it.
document.addEventListener("htmx:beforeRequest", function (event) {
  var link = event.detail.elt;
  var slot = event.detail.target;
  if (link.hasAttribute("data-form-link") && slot && slot.querySelector("form")) {
    event.preventDefault();
    var field = slot.querySelector("[autofocus]") || slot.querySelector("textarea");
    if (field) field.focus();
  }
});

// Cancel empties the slot and puts the focus back on the link that opened it.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-close-slot]");
  if (!button) return;
  var slot = button.closest(".form-slot");
  if (!slot) return;
  slot.replaceChildren();
  var link = document.querySelector('[aria-controls="' + slot.id + '"]');
  if (link) link.focus();
});
