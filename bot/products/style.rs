//! The one stylesheet of the pages the bot serves (`/`, `/calendar`, `/geps`): readable from a
//! 375 px phone to a 1440 px screen, dark where the reader's system is
//! (`prefers-color-scheme`), no framework. Each page carries it inline, so a page written to a
//! file (`gep-bot dashboard --out`) looks the same as the served one.

/// The stylesheet, for a page's `<style>` element.
pub const CSS: &str = r#"
:root { color-scheme: light dark; --fg: #1f2328; --bg: #ffffff; --muted: #59636e; --line: #d1d9e0;
  --tile: #f6f8fa; --link: #0969da; --met: #1a7f37; --unmet: #a40e26; --flag: #fff8c5; --mesh: #ddf4ff; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1; --line: #3d444d; --tile: #151b23;
    --link: #4493f8; --met: #3fb950; --unmet: #f47067; --flag: #3b2e00; --mesh: #0c2d6b; }
}
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg);
  max-width: 72rem; margin: 0 auto; padding: 1rem; overflow-wrap: anywhere; }
a { color: var(--link); }
h1 { font-size: 1.6rem; margin: .5rem 0; } h2 { font-size: 1.25rem; margin: 1.5rem 0 .5rem; }
h3 { font-size: 1.05rem; margin: 1rem 0 .25rem; }
.muted, .note { color: var(--muted); }
li { margin: .2rem 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .3rem .5rem; border-bottom: 1px solid var(--line); }
th { font-weight: 600; }
td ul { margin: 0; padding-left: 1rem; }
.tiles { display: flex; flex-wrap: wrap; gap: .5rem; padding: 0; list-style: none; }
.tiles li { background: var(--tile); border: 1px solid var(--line); border-radius: .4rem;
  padding: .3rem .6rem; min-width: 6.5rem; }
.tiles strong { display: block; font-size: 1.4rem; line-height: 1.2; }
.flag { font-size: .8rem; padding: 0 .3rem; border-radius: .2rem; background: var(--flag); white-space: nowrap; }
.mesh { background: var(--mesh); }
.met { color: var(--met); } .unmet { color: var(--unmet); }
form { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; margin: .5rem 0 1rem; }
label { display: inline-flex; flex-direction: column; gap: .1rem; }
label.check { flex-direction: row; align-items: center; gap: .3rem; }
input, select, button { font: inherit; }
.cancelled time { text-decoration: line-through; }
@media (min-width: 40.01rem) {
  #geps table { table-layout: fixed; }
  #geps th:nth-child(1) { width: 30%; } #geps th:nth-child(2) { width: 11%; }
  #geps th:nth-child(3) { width: 10%; } #geps th:nth-child(4) { width: 27%; }
  #geps th:nth-child(5) { width: 12%; } #geps th:nth-child(6) { width: 10%; }
}
@media (max-width: 40rem) {
  body { padding: .5rem; }
  td:empty { display: none; }
  table, thead, tbody, tr, th, td { display: block; }
  thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  tr { border-bottom: 1px solid var(--line); padding: .4rem 0; }
  td { border: 0; padding: .1rem 0; }
  td[data-label]::before { content: attr(data-label) ": "; font-weight: 600; }
}
"#;
