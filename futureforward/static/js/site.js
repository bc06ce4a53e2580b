// Every page: show the reader our refusals in place. Views mark a 4xx fragment written for the
// reader with the X-Reader-Error header (posts/htmx.py); htmx drops 4xx answers
// otherwise, so the reader would click and see nothing happen.
document.addEventListener("htmx:beforeSwap", function (event) {
  var xhr = event.detail.xhr;
  if (xhr && xhr.status >= 400 && xhr.status < 500 && xhr.getResponseHeader("X-Reader-Error")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
