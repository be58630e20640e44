// Starts GraphiQL on GET /graphql (directory/web/graphiql.py serves this page and every file it loads).
// Queries go by POST to this service's /graphql only; nothing is loaded from anywhere else.
(function () {
  "use strict";

  // GraphiQL's dialogs add one <style> element (their scroll lock) with this nonce, which get-nonce
  // reads from here; the page's CSP lets in no other inline style (see policy() in graphiql.py).
  window.__webpack_nonce__ = document.querySelector("meta[name='pd-style-nonce']").content;

  var fetcher = GraphiQL.createFetcher({
    url: "/graphql",
    // No @defer or @stream in this API: plain JSON answers only.
    enableIncrementalDelivery: false,
    // The API takes bearer tokens only: the pages' session cookie is never sent with a query.
    fetch: function (input, init) {
      return window.fetch(input, Object.assign({}, init, { credentials: "omit" }));
    },
  });

  var props = {
    fetcher: fetcher,
    defaultQuery: "# To ask as a member or steward, paste in Headers below:\n" +
      "# {\"Authorization\": \"Bearer pd_...\"}\n{\n  taxonomy {\n    code\n  }\n}\n",
    defaultEditorToolsVisibility: "headers",
    // A token pasted in the headers pane is never written to the browser's storage,
    shouldPersistHeaders: false,
    // and the tabs and history are kept for this tab only, not left on the machine.
    storage: window.sessionStorage,
  };

  // GraphiQL's four editors are CodeMirror 5, which leaves two things for assistive technology undone:
  // the hidden <textarea> a person types into has no name, and the scrolling pane of each editor cannot
  // be reached with the keyboard. Each editor is told apart by its mode, not by where it sits.
  var EDITOR_NAMES = {
    "graphql": "GraphQL query",
    "graphql-variables": "Variables",
    "javascript": "Headers",
    "graphql-results": "Response",
  };

  function setAttribute(element, name, value) {
    if (element.getAttribute(name) !== value) element.setAttribute(name, value);
  }

  function nameEditors(root) {
    root.querySelectorAll(".CodeMirror").forEach(function (element) {
      var editor = element.CodeMirror;
      var mode = editor && editor.getOption("mode");
      var name = editor && EDITOR_NAMES[typeof mode === "string" ? mode : mode && mode.name];
      if (!name) return;
      setAttribute(editor.getInputField(), "aria-label", name);
      // The pane scrolls with the arrow keys once it has the focus (CodeMirror gives it -1: mouse only).
      var scroller = editor.getScrollerElement();
      setAttribute(scroller, "tabindex", "0");
      setAttribute(scroller, "role", "group");
      setAttribute(scroller, "aria-label", name + " (scroll area)");
    });
  }

  var root = document.getElementById("graphiql");
  // The editors appear after the first render, and again when GraphiQL remounts them: label each one
  // as it comes. Only child lists are watched, so the attributes set here wake no one.
  new MutationObserver(function () { nameEditors(root); }).observe(root, { childList: true, subtree: true });

  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, props));
})();
