/*
 * roberta-math, for the reader on any screen (served by the site itself; no library, no network):
 *
 * 1. Every figure opens at full size when clicked or tapped. A figure shrunk to a phone's width has labels a few pixels tall; this opens it in a
 * dialog at its own size (or larger, up to the window, on a wide screen), in a box that
 * scrolls both ways, with a close button; Escape, a click on the backdrop or the button
 * closes it.
 * 2. Whatever scrolls sideways says so. A table, display equation or code block wider than
 *    its column scrolls inside its own box; when it does, the box gets the class
 *    "rm-scrolls" (extra.css fades its right edge while more is hidden there) and a line
 *    right above it reads "scroll sideways for more". Checked again when the window is resized.
 */
(function () {
  "use strict";

  var dialog = null;
  var frame = null;
  var big = null;

  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "rm-lightbox";
    dialog.setAttribute("aria-label", "Figure at full size");
    var close = document.createElement("button");
    close.type = "button";
    close.className = "rm-lightbox-close";
    close.setAttribute("aria-label", "Close");
    close.textContent = "\u00d7";
    close.addEventListener("click", function () { dialog.close(); });
    frame = document.createElement("div");
    frame.className = "rm-lightbox-frame";
    frame.setAttribute("tabindex", "0"); // the scroll box can be scrolled with the keyboard
    big = document.createElement("img");
    big.className = "rm-lightbox-image";
    frame.appendChild(big);
    dialog.appendChild(close);
    dialog.appendChild(frame);
    // A click on the backdrop (the dialog itself, outside the frame) closes it.
    dialog.addEventListener("click", function (event) { if (event.target === dialog) dialog.close(); });
    dialog.addEventListener("close", function () { big.removeAttribute("src"); document.documentElement.classList.remove("rm-lightbox-open"); });
    document.body.appendChild(dialog);
  }

  function open(img) {
    if (!dialog) build();
    big.alt = img.alt || "";
    big.src = img.currentSrc || img.src;
    // Its own size, enlarged up to the window's width on a wide screen (figures are vector
    // graphics), never smaller than its own size: on a phone the box scrolls instead.
    var natural = img.naturalWidth || img.width;
    var room = Math.max(0, Math.min(window.innerWidth, document.documentElement.clientWidth) - 48);
    big.style.width = Math.round(Math.max(natural, Math.min(room, 1.6 * natural))) + "px";
    document.documentElement.classList.add("rm-lightbox-open");
    dialog.showModal();
    frame.scrollTop = 0;
    frame.scrollLeft = 0;
  }

  function enhance(img) {
    if (img.dataset.rmZoom || img.closest("a, .rm-explorer, .md-header, .md-footer")) return;
    img.dataset.rmZoom = "1";
    img.classList.add("rm-zoomable");
    img.setAttribute("tabindex", "0");
    img.setAttribute("role", "button");
    img.setAttribute("title", "Open at full size");
    img.addEventListener("click", function () { open(img); });
    img.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); open(img); }
    });
  }

  // ------------------------------------------------------------------ scroll cues
  // Boxes of the article that scroll sideways: found by their computed style (tables,
  // display math, code, notebook outputs, tab labels...), not by a list of classes.
  function scrollers() {
    var found = [];
    var nodes = document.querySelectorAll(".md-content div, .md-content pre, .md-content code, .md-content span.katex-display");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      if (node.closest(".katex-mathml, .rm-lightbox")) continue;
      if (node.tagName === "CODE" && node.parentElement.tagName !== "PRE") continue; // inline code
      if (node.tagName === "SPAN" || node.scrollWidth > node.clientWidth + 1 || node.classList.contains("rm-scrolls")) {
        var overflow = getComputedStyle(node).overflowX;
        if (overflow === "auto" || overflow === "scroll") found.push(node);
      }
    }
    return found;
  }

  // The hint goes right above the box, where the reader sees it before the content.
  function hintFor(box) {
    var previous = box.previousElementSibling;
    if (previous && previous.classList.contains("rm-scroll-hint")) return previous;
    var hint = document.createElement("div");
    hint.className = "rm-scroll-hint";
    hint.setAttribute("aria-hidden", "true"); // a visual cue; the content itself is all there
    hint.textContent = "scroll sideways for more \u2192";
    box.parentNode.insertBefore(hint, box);
    return hint;
  }

  // For a <code> inside <pre> the hint goes before the <pre> (a block), not inside it.
  function anchorOf(box) {
    return box.tagName === "CODE" && box.parentElement.tagName === "PRE" ? box.parentElement : box;
  }

  function updateEnd(box) {
    var atEnd = box.scrollLeft + box.clientWidth >= box.scrollWidth - 2;
    box.classList.toggle("rm-scrolled-end", atEnd);
  }

  function check(box) {
    var overflow = getComputedStyle(box).overflowX;
    var wide = (overflow === "auto" || overflow === "scroll") && box.scrollWidth > box.clientWidth + 1;
    var anchor = anchorOf(box);
    box.classList.toggle("rm-scrolls", wide);
    if (wide) {
      box.setAttribute("tabindex", "0"); // scrollable with the keyboard too
      hintFor(anchor).hidden = false;
      updateEnd(box);
    } else {
      var previous = anchor.previousElementSibling;
      if (previous && previous.classList.contains("rm-scroll-hint")) previous.hidden = true;
    }
  }

  var watched = typeof WeakSet === "function" ? new WeakSet() : null;

  function checkAll() {
    var boxes = scrollers();
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      if (watched && !watched.has(box)) {
        watched.add(box);
        box.addEventListener("scroll", (function (b) { return function () { updateEnd(b); }; })(box), { passive: true });
      }
      check(box);
    }
    // Boxes that no longer overflow (a wider window) lose their cue.
    var marked = document.querySelectorAll(".rm-scrolls");
    for (var j = 0; j < marked.length; j++) {
      if (boxes.indexOf(marked[j]) < 0 || marked[j].scrollWidth <= marked[j].clientWidth + 1) check(marked[j]);
    }
  }

  function startScrollCues() {
    checkAll();
    var pending = null;
    window.addEventListener("resize", function () {
      if (pending) cancelAnimationFrame(pending);
      pending = requestAnimationFrame(checkAll);
    });
    // Fonts (KaTeX's, the code font) can change widths once loaded.
    if (document.fonts && document.fonts.ready) document.fonts.ready.then(checkAll);
    // Content drawn by a page's own script (the explorer, the Try it page) is checked
    // once it appears. (The hints this adds settle it: a second pass adds nothing.)
    var content = document.querySelector(".md-content");
    if (content && window.MutationObserver) {
      var queued = false;
      new MutationObserver(function () {
        if (queued) return;
        queued = true;
        requestAnimationFrame(function () { queued = false; checkAll(); });
      }).observe(content, { childList: true, subtree: true });
    }
  }

  function start() {
    var images = document.querySelectorAll(".md-content .md-typeset img");
    for (var i = 0; i < images.length; i++) enhance(images[i]);
    startScrollCues();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
