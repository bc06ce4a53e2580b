// Comments: let htmx show our own error answers in place.
//
// htmx does not swap 4xx responses by default. The comment endpoints answer a refused form
// (empty text, too fast, closed thread) with a 4xx status and the form again, message included,
// marked with the X-Comments-Error header; swap those so the reader sees why, text intact.
document.addEventListener("htmx:beforeSwap", function (event) {
  var xhr = event.detail.xhr;
  if (xhr && xhr.status >= 400 && xhr.status < 500 && xhr.getResponseHeader("X-Comments-Error")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
