// Progressive enhancement only: every page works without this file.
// - buttons with data-confirm ask before their form is sent;
// - elements with data-copy="#id" copy that element's text (hidden until this file shows
//   them, so a page without scripts offers no button that does nothing).
document.querySelectorAll("[data-copy][hidden]").forEach(function (button) {
  if (navigator.clipboard) { button.hidden = false; }
});
document.addEventListener("click", function (event) {
  var confirmButton = event.target.closest("[data-confirm]");
  if (confirmButton && !window.confirm(confirmButton.getAttribute("data-confirm"))) {
    event.preventDefault();
    return;
  }
  var copyButton = event.target.closest("[data-copy]");
  if (copyButton && navigator.clipboard) {
    var source = document.querySelector(copyButton.getAttribute("data-copy"));
    if (source) {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        var label = copyButton.textContent;
        copyButton.textContent = "Copied";
        setTimeout(function () { copyButton.textContent = label; }, 1500);
      });
    }
  }
});
