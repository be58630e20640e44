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

  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(GraphiQL, props));
})();
