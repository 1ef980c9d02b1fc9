// Draws the site's ```mermaid blocks (rendered as <div class="diagram">) with the Mermaid
// copy that scripts/docs bundles into the site, on every page view. The blocks are not
// given Material's own "mermaid" class, so Material never tries to load Mermaid itself.
(function () {
  function draw() {
    var nodes = document.querySelectorAll("div.diagram:not([data-processed])");
    if (!nodes.length || !window.mermaid) {
      return;
    }
    var dark = document.body.getAttribute("data-md-color-scheme") === "slate";
    window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: dark ? "dark" : "default" });
    window.mermaid.run({ nodes: nodes });
  }
  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(draw);
  } else {
    document.addEventListener("DOMContentLoaded", draw);
  }
})();
