/** The directory's one stylesheet, inlined in every page: no client bundle, no extra request. */
export const STYLESHEET = `
:root{--bg:#f6f5f2;--card:#fff;--ink:#1b1a22;--muted:#66636f;--line:#e5e2ea;--accent:#5546ff;--accent-soft:#eeecff;
--ok:#11733f;--ok-soft:#e3f4ea;--warn:#8a5a00;--warn-soft:#fbf0d9;--bad:#a3262a;--bad-soft:#fbe5e4;--idle:#4a5568;--idle-soft:#eceef2;
--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
header.top{background:var(--card);border-bottom:1px solid var(--line)}
.bar{max-width:1040px;margin:0 auto;padding:14px 20px;display:flex;align-items:center;gap:20px;flex-wrap:wrap}
.brand{font-weight:750;font-size:19px;color:var(--ink);letter-spacing:-.01em}.brand span{color:var(--accent)}
nav{display:flex;gap:18px;margin-left:auto;font-size:15px}nav a{color:var(--muted)}nav a.here{color:var(--ink);font-weight:600}
main{max-width:1040px;margin:0 auto;padding:28px 20px 64px}
h1{font-size:30px;line-height:1.2;margin:0 0 6px;letter-spacing:-.02em}
h2{font-size:18px;margin:34px 0 12px}
.lede{color:var(--muted);margin:0 0 22px}
.card{background:var(--card);border:1px solid var(--line);border-radius:14px;padding:18px 20px}
form.search{display:grid;gap:12px;margin-bottom:22px}
.filters{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:10px}
label{display:grid;gap:4px;font-size:13px;color:var(--muted);font-weight:550}
input,select,button{font:inherit;font-size:15px;font-weight:400;border-radius:10px;border:1px solid var(--line);padding:9px 12px;background:#fff;color:var(--ink);min-width:0;width:100%}
input:focus,select:focus{outline:2px solid var(--accent-soft);border-color:var(--accent)}
.searchrow{display:flex;gap:10px}.searchrow input{flex:1}
button{background:var(--accent);color:#fff;border-color:var(--accent);font-weight:600;cursor:pointer;width:auto;padding:9px 18px}
button.secondary{background:#fff;color:var(--accent)}
.count{color:var(--muted);font-size:14px;margin:0 0 12px}
ul.results{list-style:none;margin:0;padding:0;display:grid;gap:12px}
.result{display:grid;grid-template-columns:1fr auto;gap:6px 18px;align-items:start}
.result h3{margin:0;font-size:17px;line-height:1.35;overflow-wrap:anywhere}
.result p{margin:0;color:var(--muted);font-size:14.5px;grid-column:1/-1;overflow-wrap:anywhere}
.price{text-align:right;white-space:nowrap;font-weight:650;font-size:17px}.price small{display:block;font-weight:450;color:var(--muted);font-size:12.5px}
.url{font-family:var(--mono);font-size:13px;color:var(--muted);overflow-wrap:anywhere;word-break:break-all}
.result .url{grid-column:1/-1}
.badges{display:flex;gap:6px;flex-wrap:wrap;grid-column:1/-1}
.badge{display:inline-block;font-size:12px;font-weight:600;padding:2px 9px;border-radius:999px;background:var(--idle-soft);color:var(--idle);white-space:nowrap}
.badge.active{background:var(--ok-soft);color:var(--ok)}.badge.degraded,.badge.warn{background:var(--warn-soft);color:var(--warn)}
.badge.failing,.badge.bad{background:var(--bad-soft);color:var(--bad)}.badge.net{background:var(--accent-soft);color:var(--accent)}
.pager{display:flex;justify-content:flex-end;margin-top:18px}
.empty{text-align:center;color:var(--muted);padding:40px 20px}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:14px}
.stat{display:grid;gap:2px}.stat b{font-size:26px;letter-spacing:-.02em}.stat span{color:var(--muted);font-size:13px}
dl.terms{display:grid;grid-template-columns:max-content 1fr;gap:8px 16px;margin:0}
dl.terms dt{color:var(--muted);font-size:14px}dl.terms dd{margin:0;overflow-wrap:anywhere;min-width:0}
code,pre{font-family:var(--mono);font-size:13px}
pre{background:#16151d;color:#eceaf5;border-radius:12px;padding:14px 16px;overflow-x:auto;margin:0;line-height:1.5;max-width:100%}
pre.command{user-select:all;white-space:pre-wrap;word-break:break-all}
.table{overflow-x:auto;border:1px solid var(--line);border-radius:12px;background:var(--card)}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:9px 12px;border-bottom:1px solid var(--line);white-space:nowrap}
th{color:var(--muted);font-weight:600;font-size:12.5px;text-transform:uppercase;letter-spacing:.04em;background:#fbfaf8}
tr:last-child td{border-bottom:0}
td.wrap{white-space:normal;overflow-wrap:anywhere}
ul.findings{list-style:none;padding:0;margin:0;display:grid;gap:10px}
.finding{border-left:4px solid var(--warn);background:var(--card);border-radius:10px;padding:12px 14px;border-top:1px solid var(--line);border-right:1px solid var(--line);border-bottom:1px solid var(--line)}
.finding.error{border-left-color:var(--bad)}
.finding b{font-family:var(--mono);font-size:13px}.finding .path{font-family:var(--mono);font-size:12.5px;color:var(--muted);margin-left:6px;overflow-wrap:anywhere}
.finding p{margin:4px 0 0}.finding .fix{color:var(--muted);font-size:14px}
.notice{padding:14px 16px;border-radius:12px;margin:0 0 18px}.notice.ok{background:var(--ok-soft);color:var(--ok)}.notice.bad{background:var(--bad-soft);color:var(--bad)}
.notice.warn{background:var(--warn-soft);color:var(--warn)}
form.register{display:grid;gap:14px;max-width:720px}.actions{display:flex;gap:10px;flex-wrap:wrap}
footer{max-width:1040px;margin:0 auto;padding:0 20px 40px;color:var(--muted);font-size:13px}
@media (max-width:640px){
  h1{font-size:24px}main{padding:20px 16px 48px}.bar{padding:12px 16px;gap:10px}nav{margin-left:0;gap:14px}
  .result{grid-template-columns:1fr}.price{text-align:left}.searchrow{flex-direction:column}.searchrow button{width:100%}
  dl.terms{grid-template-columns:1fr}dl.terms dt{margin-top:6px}
  .filters{grid-template-columns:1fr 1fr}
  .table thead{display:none}
  .table tr{display:grid;grid-template-columns:1fr 1fr;gap:10px 14px;padding:14px 16px;border-bottom:1px solid var(--line)}
  .table tr:last-child{border-bottom:0}
  .table td{border:0;padding:0;white-space:normal;overflow-wrap:anywhere;min-width:0}
  .table td::before{content:attr(data-label);display:block;font-size:11.5px;font-weight:600;color:var(--muted);text-transform:uppercase;letter-spacing:.04em;margin-bottom:2px}
}
`;
