//! The status page's HTML: the frame (head, inline CSS for screens,
//! phones and paper), the escaping every string from the data goes
//! through, and the formatting of times, ages and counts. The sections
//! themselves are in `sections`.

use std::fmt::Write;

use super::gather::StatusData;
use super::sections;
use crate::freshness::{age_in, AgeStyle};
use crate::timefmt::iso;

/// The page's Content-Security-Policy: nothing may be fetched, inline
/// styles apply, images only from `data:` (the empty icon, which spares
/// the browser asking the server for one).
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const STYLE: &str = "
:root{--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--muted:#57606a;--line:#d0d7de;
--req:#0969da;--thr:#cf222e;--chg:#8250df;--soft:#f6f8fa}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2328;
background:#fff;margin:0 auto;padding:1rem;max-width:72rem}
h1{font-size:1.4rem;margin:.2rem 0}
h2{font-size:1.15rem;margin:2rem 0 .6rem;padding-bottom:.2rem;border-bottom:1px solid var(--line)}
h3{font-size:1rem;margin:1rem 0 .3rem}
p{margin:.3rem 0}
.muted{color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));gap:.75rem}
.card{border:1px solid var(--line);border-radius:6px;padding:.6rem .8rem;overflow-wrap:anywhere}
.card b{display:block;font-size:.85rem;color:var(--muted);font-weight:600}
.badge{display:inline-block;padding:0 .5rem;border-radius:1rem;font-weight:600;color:#fff;
background:var(--muted)}
.s-complete{background:var(--ok)}.s-partial{background:var(--warn)}.s-failed{background:var(--bad)}
figure{margin:0 0 1.2rem}
figcaption{margin:.2rem 0}
svg.chart{display:block;width:100%;height:10rem;border-left:1px solid var(--line);
border-bottom:1px solid var(--line)}
svg.spark{display:block;width:100%;height:1.6rem}
rect{fill:var(--muted)}
rect.b-complete{fill:var(--ok)}rect.b-partial{fill:var(--warn)}rect.b-failed{fill:var(--bad)}
rect.req{fill:var(--req)}rect.thr{fill:var(--thr)}rect.chg{fill:var(--chg)}
line.grid{stroke:var(--line);stroke-width:1;vector-effect:non-scaling-stroke}
.key{display:inline-block;width:.8em;height:.8em;margin:0 .25em 0 .6em;vertical-align:-.05em}
.k-req{background:var(--req)}.k-thr{background:var(--thr)}.k-ok{background:var(--ok)}
.k-warn{background:var(--warn)}.k-bad{background:var(--bad)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.85rem;color:var(--muted)}
.n{text-align:right;white-space:nowrap}

.ch{display:grid;grid-template-columns:minmax(10rem,18rem) 6rem 1fr;gap:.2rem .8rem;
align-items:end;padding:.25rem 0;border-bottom:1px solid var(--line)}
.ch span{overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--soft);padding:.6rem;
border-radius:6px;margin:.3rem 0 1rem;font-size:.85rem}
footer{margin-top:2rem;font-size:.85rem}
@media (max-width:40rem){body{padding:.6rem;font-size:14px}th,td{padding:.25rem .3rem}
.wide{display:none}svg.chart{height:7rem}
.ch{grid-template-columns:1fr auto}.ch svg{grid-column:1/3}}
@media print{body{max-width:none;padding:0;font-size:10pt}.scroll{overflow:visible}
section,figure,.card,article,tr{break-inside:avoid}h2,h3{break-after:avoid}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
pre{background:none;border:1px solid var(--line)}.wide{display:table-cell}}
";

/// `s` made safe as HTML text and attribute values: `&`, `<`, `>`, `"`
/// and `'` become entities; nothing in the data can open a tag.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The whole page.
pub fn render(data: &StatusData) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let title = escape(&data.title);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <link rel=\"icon\" href=\"data:,\">\
         <title>huntr-sync status: {title}</title><style>{STYLE}</style></head><body>\
         <header><h1>huntr-sync status</h1><p>{title}</p>\
         <p class=\"muted\">As of {} (UTC). This page loads nothing from anywhere.</p></header>",
        when(Some(data.now))
    );
    sections::summary(&mut out, data);
    sections::charts(&mut out, data);
    sections::errors(&mut out, data);
    sections::runs(&mut out, data);
    sections::freshness(&mut out, data);
    sections::pushes(&mut out, data);
    sections::tables(&mut out, data);
    let _ = write!(
        out,
        "<footer class=\"muted\">Written by huntr-sync {} from the destination's state \
         database.</footer></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    out.push('\n');
    out
}

/// A time as `2026-06-01 03:00:12`, or `never`.
pub fn when(ts: Option<i64>) -> String {
    match ts {
        Some(ts) => iso(ts).replace('T', " ").trim_end_matches('Z').to_owned(),
        None => "never".to_owned(),
    }
}

/// A span of seconds as people say it: `45 s`, `3 min 5 s`, `2 h 10 min`,
/// `3 d 4 h` (the status command's ages, spelled out).
pub fn span(secs: i64) -> String {
    age_in(secs, AgeStyle::Spaced)
}

/// How long ago `ts` was, as of `now`: `3 h 12 min ago`, or `never`.
pub fn ago(ts: Option<i64>, now: i64) -> String {
    match ts {
        Some(ts) if ts > now => "in the future".to_owned(),
        Some(ts) => format!("{} ago", span(now - ts)),
        None => "never".to_owned(),
    }
}

/// A count with thousands separated: `12,345`; `-` when not recorded.
pub fn count(n: Option<u64>) -> String {
    let Some(n) = n else {
        return "-".to_owned();
    };
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A run's status as a coloured badge.
pub fn badge(status: &str) -> String {
    format!("<span class=\"badge s-{0}\">{0}</span>", escape(status))
}
