/**
 * The dashboard's stylesheet, kept in a module so the compiled package needs
 * no asset copying. Plain CSS: system fonts, one column on phones, tables
 * that scroll sideways instead of squeezing.
 */
export const STYLESHEET = `
:root {
  --bg: #f6f7f9; --fg: #1d2330; --muted: #5b6475; --card: #fff; --line: #dde1e8;
  --ok: #1a7f37; --ok-bg: #dafbe1; --warn: #9a6700; --warn-bg: #fff3c4;
  --bad: #cf222e; --bad-bg: #ffe0e0; --info: #0550ae; --info-bg: #ddf4ff; --accent: #4b3fbf;
}
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--fg); }
header.top { background: #1d2330; color: #fff; padding: .6rem 1rem; display: flex; flex-wrap: wrap; align-items: center; gap: .4rem 1.2rem; }
header.top .brand { font-weight: 700; font-size: 1.1rem; color: #fff; text-decoration: none; }
header.top nav { display: flex; flex-wrap: wrap; gap: .2rem; }
header.top nav a { color: #cfd6e4; text-decoration: none; padding: .25rem .55rem; border-radius: 6px; }
header.top nav a[aria-current="page"], header.top nav a:hover { background: #39415a; color: #fff; }
.devnote { background: var(--warn-bg); color: #5c3d00; border-bottom: 1px solid #e8cf7a; padding: .45rem 1rem; font-size: .9rem; }
main { max-width: 1100px; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.4rem; margin: .2rem 0 .8rem; }
h2 { font-size: 1.1rem; margin: 1.2rem 0 .5rem; }
p.lead { color: var(--muted); margin-top: 0; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: .9rem 1rem; margin-bottom: 1rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(230px, 1fr)); gap: .8rem; }
.grid .card { margin: 0; min-width: 0; }
.stat { font-size: 1.6rem; font-weight: 700; }
.muted { color: var(--muted); }
/* Words wrap between words; an identifier too long for its column wraps at the <wbr> after its separators (breakAt), a hex string anywhere. */
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .85rem; overflow-wrap: break-word; }
td.mono.rule, .resource { overflow-wrap: normal; word-break: normal; }
.reason { font-size: .85rem; overflow-wrap: break-word; hyphens: none; }
.component .detail { overflow-wrap: anywhere; }
code { overflow-wrap: anywhere; }
td.when { white-space: nowrap; font-size: .85rem; color: var(--muted); }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .8rem; font-weight: 600; border: 1px solid transparent; white-space: nowrap; }
.badge.ok { background: var(--ok-bg); color: var(--ok); border-color: #aee9bd; }
.badge.warn { background: var(--warn-bg); color: var(--warn); border-color: #ebd57a; }
.badge.bad { background: var(--bad-bg); color: var(--bad); border-color: #f5b5b9; }
.badge.info { background: var(--info-bg); color: var(--info); border-color: #a8d6f7; }
.badge.off { background: #eceef2; color: var(--muted); border-color: var(--line); }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
.bar { position: relative; height: 1.3rem; background: #e9ecf2; border-radius: 6px; overflow: hidden; margin: .25rem 0; }
.bar > span { position: absolute; inset: 0 auto 0 0; background: linear-gradient(90deg, #a99ff2, #8b7fe8); }
.bar > em { position: relative; font-style: normal; font-size: .8rem; font-weight: 600; padding-left: .5rem; line-height: 1.3rem; color: #1d2330; text-shadow: 0 0 3px #fff, 0 0 2px #fff, 0 0 1px #fff; }
.bar.high > span { background: linear-gradient(90deg, #e5534b, #cf222e); }
.features { display: flex; flex-wrap: wrap; gap: .3rem; margin: .3rem 0 .6rem; }
.unavailable { border-left: 4px solid #9aa3b5; }
.steps { list-style: none; padding: 0; margin: 0; }
.steps li { display: flex; gap: .7rem; padding: .55rem 0; border-bottom: 1px solid var(--line); align-items: flex-start; }
.steps li:last-child { border-bottom: 0; }
.steps li > div { min-width: 0; overflow-wrap: anywhere; }
.nowrap { white-space: nowrap; }
.steps .n { flex: 0 0 1.7rem; height: 1.7rem; border-radius: 50%; background: #e9ecf2; text-align: center; line-height: 1.7rem; font-weight: 700; font-size: .85rem; }
.checks li { list-style: none; margin: .2rem 0; }
.checks { padding-left: 0; }
button, .button { background: var(--accent); color: #fff; border: 0; border-radius: 8px; padding: .55rem 1rem; font-size: 1rem; cursor: pointer; }
button[disabled] { opacity: .6; cursor: progress; }
form.upload { display: grid; gap: .7rem; max-width: 560px; }
form.upload label { display: grid; gap: .2rem; font-weight: 600; font-size: .9rem; min-width: 0; }
form.upload input, form.upload select { width: 100%; max-width: 100%; min-width: 0; }
input[type="text"], select { padding: .4rem; border: 1px solid var(--line); border-radius: 6px; font: inherit; }
.htmx-request .spinner { display: inline; }
.spinner { display: none; }
.verdict-big { font-size: 1.2rem; font-weight: 700; }
footer { color: var(--muted); font-size: .8rem; text-align: center; padding: 1rem; }
@media (max-width: 600px) {
  body { font-size: 14px; }
  main { padding: .6rem; }
  th, td { padding: .35rem .3rem; }
  .hide-narrow { display: none; }
  header.top nav a { padding: .2rem .4rem; }
  /* Wide tables become one card-like block per row on phones. */
  table.stack thead { display: none; }
  table.stack, table.stack tbody { display: block; width: 100%; }
  table.stack tr { display: block; padding: .45rem 0; border-bottom: 1px solid var(--line); }
  /* A row is a small card: a long subject or a hex value wraps inside it instead of widening the table. */
  table.stack td { display: inline-block; max-width: 100%; border: 0; padding: .1rem .35rem .1rem 0; overflow-wrap: anywhere; }
  table.stack td.reason { display: block; }
}
@media (min-width: 900px) {
  /* Wide screens have room for whole rule ids on one line. */
  td.mono.rule { white-space: nowrap; }
}
pre { white-space: pre-wrap; overflow-wrap: anywhere; }
`;
