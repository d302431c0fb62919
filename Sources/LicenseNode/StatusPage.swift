/// The status page at the admin port's root: a static page whose script reads
/// `GET /v1/status` with an operator token and redraws itself every two seconds. The page
/// carries no data itself; the token comes from the URL fragment (`/#token=...`, which the
/// browser never sends to a server) or a form, and is kept in the tab's session storage.
/// Every value is put in the page as text, never as markup.
enum StatusPage {
    static let html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>licensed status</title>
        <link rel="stylesheet" href="/status.css">
        <script src="/status.js" defer></script>
        </head>
        <body>
        <header><h1 id="title">licensed</h1><p id="updated">loading…</p></header>
        <form id="login" hidden>
          <label>Operator token <input id="token" type="password" autocomplete="off"></label>
          <button type="submit">Show status</button>
          <p id="login-error"></p>
        </form>
        <main id="status" hidden>
        <section><h2>Node</h2><table id="node"></table></section>
        <section><h2>Peers</h2><table id="peers"></table></section>
        <section><h2>Network matrix</h2>
          <p class="note">Entries of each origin (columns) that each node (rows) holds, as this node last heard.
          Cells behind the highest are marked.</p>
          <table id="matrix"></table></section>
        <section><h2>Equivocation alerts</h2><ul id="equivocations"></ul></section>
        <section><h2>Open conflicts</h2><ul id="conflicts"></ul></section>
        <section><h2>Recent refusals</h2><table id="refusals"></table></section>
        </main>
        </body>
        </html>

        """

    static let css = """
        body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1b1b1b; }
        header { display: flex; align-items: baseline; gap: 1rem; }
        h1 { font-size: 1.4rem; margin: 0; } h2 { font-size: 1.1rem; margin: 1.4rem 0 .4rem; }
        table { border-collapse: collapse; } th, td { border: 1px solid #ccc; padding: .2rem .5rem; text-align: left; }
        th { background: #f2f2f2; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
        .behind { background: #fff1c2; } .down { color: #a40000; font-weight: 600; } .up { color: #1a6b1a; }
        .alert { color: #a40000; font-weight: 600; } .note { color: #555; margin: 0 0 .4rem; }
        #updated { color: #555; margin: 0; }

        """

    static let script = """
        "use strict";
        (function () {
          const fragment = new URLSearchParams(location.hash.slice(1));
          if (fragment.get("token")) {
            sessionStorage.setItem("lx-token", fragment.get("token"));
            history.replaceState(null, "", location.pathname);
          }
          const $ = (id) => document.getElementById(id);

          function cell(text, className) {
            const td = document.createElement("td");
            td.textContent = text === undefined || text === null ? "" : String(text);
            if (className) td.className = className;
            return td;
          }
          function fill(table, headers, rows) {
            table.replaceChildren();
            const head = document.createElement("tr");
            for (const h of headers) { const th = document.createElement("th"); th.textContent = h; head.appendChild(th); }
            table.appendChild(head);
            for (const cells of rows) {
              const tr = document.createElement("tr");
              for (const c of cells) tr.appendChild(c instanceof Node ? c : cell(c));
              table.appendChild(tr);
            }
          }
          function list(ul, items, empty) {
            ul.replaceChildren();
            for (const [text, className] of (items.length ? items : [[empty, ""]])) {
              const li = document.createElement("li");
              li.textContent = text;
              if (className) li.className = className;
              ul.appendChild(li);
            }
          }

          function render(s) {
            document.title = "licensed " + s.node_id + " — status";
            $("title").textContent = "licensed " + s.node_id + " · " + s.province_name + " (" + s.province + ")";
            fill($("node"), ["field", "value"], [
              ["node", s.node_id], ["province", s.province + " " + s.province_name], ["entries", s.entries],
              ["ledger digest", s.ledger_digest], ["issuer key", s.key_id], ["root key", s.root_key_id],
              ["started", s.started_at]]);
            const peers = s.peers || [];
            fill($("peers"), ["peer", "state", "since", "lag per origin", "entries in / out", "last error"],
              peers.length ? peers.map((p) => {
                const lag = Object.entries(p.lag || {}).filter(([, n]) => n > 0).map(([o, n]) => o + " " + n).join(", ");
                return [p.node_id, cell(p.connected ? "connected" : "not connected", p.connected ? "up" : "down"),
                        p.since, lag || "none", p.entries_in + " / " + p.entries_out, p.last_error || ""];
              }) : [["(no peers: a standalone node)", "", "", "", "", ""]]);
            const holders = [[s.node_id + " (this node)", s.version_vector || {}]]
              .concat(peers.map((p) => [p.node_id, p.version_vector || {}]));
            const origins = [...new Set(holders.flatMap(([, v]) => Object.keys(v)))].sort();
            const highest = Object.fromEntries(origins.map((o) => [o, Math.max(...holders.map(([, v]) => v[o] || 0))]));
            fill($("matrix"), ["node \\\\ origin"].concat(origins), holders.map(([name, v]) =>
              [name].concat(origins.map((o) => cell(v[o] || 0, "num" + ((v[o] || 0) < highest[o] ? " behind" : ""))))));
            list($("equivocations"), (s.equivocations || []).map((e) =>
              ["origin " + e.origin + " signed two entries at #" + e.seq + " (held " + e.held_entry.slice(0, 16) +
               "…, other " + e.other_entry.slice(0, 16) + "…), found " + e.detected_at + "; its entries from #" + e.seq +
               " on are held back", "alert"]), "none");
            list($("conflicts"), (s.conflicts || []).map((c) => [c.license_id + ": " + c.rule + ", " + c.first + " and " + c.second + ": " + c.result, "alert"]), "none");
            const refusals = s.recent_refusals || [];
            fill($("refusals"), ["at", "peer", "code", "detail"],
              refusals.length ? refusals.map((r) => [r.at, r.peer, r.code, r.detail]) : [["none", "", "", ""]]);
            $("updated").textContent = "updated " + new Date().toISOString().replace(/\\.\\d+Z$/, "Z");
          }

          async function refresh() {
            const token = sessionStorage.getItem("lx-token");
            if (!token) { $("login").hidden = false; $("updated").textContent = "an operator token is needed"; return; }
            try {
              const response = await fetch("/v1/status", { headers: { Authorization: "Bearer " + token } });
              if (response.status === 401 || response.status === 403) {
                sessionStorage.removeItem("lx-token");
                $("login").hidden = false;
                $("login-error").textContent = "that token was refused (" + response.status + "); an operator token is needed";
                return;
              }
              if (!response.ok) throw new Error("HTTP " + response.status);
              render(await response.json());
              $("login").hidden = true;
              $("status").hidden = false;
            } catch (error) {
              $("updated").textContent = "cannot reach the node: " + error.message + " (retrying)";
            }
          }

          $("login").addEventListener("submit", (event) => {
            event.preventDefault();
            sessionStorage.setItem("lx-token", $("token").value.trim());
            $("token").value = "";
            $("login-error").textContent = "";
            refresh();
          });
          refresh();
          setInterval(refresh, 2000);
        })();

        """
}
