//! `--sequence FILE.svg`: the folded steps drawn as an SVG sequence diagram,
//! by xsh itself (no Graphviz, no Mermaid CLI): a lane per layer with its
//! lifeline, one arrow per step with what crossed above it, and the step's
//! virtual time in the left margin.
//!
//! Layout is integer arithmetic on a fixed grid with a fixed-width font
//! estimate, so the same run always gives the same bytes.

use std::fmt::Write;

use xsh_sim::time::SimTime;

use super::sequence::Steps;

const LANE_W: usize = 200;
/// Room right of the last lane for a self-step's text.
const MARGIN_R: usize = 170;
const MARGIN_L: usize = 100;
const TOP: usize = 70;
const HEAD_H: usize = 30;
const LINE_H: usize = 14;
const ROW_GAP: usize = 12;
/// Average advance of the 11 px sans-serif font used, in px per char.
const CHAR_W: usize = 6;

/// A step's time as the margin shows it.
pub fn time_label(t: SimTime) -> String {
    let ns = t.0;
    if ns < 1_000_000_000 {
        format!("{}.{:03} ms", ns / 1_000_000, (ns / 1_000) % 1_000)
    } else {
        format!("{}.{:03} s", ns / 1_000_000_000, (ns / 1_000_000) % 1_000)
    }
}

/// Escapes text for XML character data and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // XML 1.0 forbids most control characters even escaped.
            c if (c as u32) < 0x20 && c != '\t' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// Splits an arrow's text into lines that fit `width` px: labels stay
/// whole where they fit, joined by ", "; a label longer than a line breaks
/// after a space, colon or slash, or before a dot or underscore.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let max = (width / CHAR_W).max(12);
    let parts: Vec<&str> = text.split(", ").collect();
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for (i, part) in parts.iter().enumerate() {
        let part = if i + 1 < parts.len() {
            format!("{part},")
        } else {
            part.to_string()
        };
        for chunk in break_long(&part, max) {
            let len = cur.chars().count();
            if cur.is_empty() {
                cur = chunk;
            } else if len + 1 + chunk.chars().count() <= max {
                cur.push(' ');
                cur.push_str(&chunk);
            } else {
                lines.push(std::mem::replace(&mut cur, chunk));
            }
        }
    }
    lines.push(cur);
    lines
}

/// Cuts one label into pieces of at most `max` chars at readable places.
fn break_long(s: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest: Vec<char> = s.chars().collect();
    while rest.len() > max {
        let cut = (1..max)
            .rev()
            .find(|&i| matches!(rest[i - 1], ' ' | ':' | '/' | '(') || matches!(rest[i], '.' | '_'))
            .unwrap_or(max);
        let head: String = rest[..cut].iter().collect();
        out.push(head.trim_end().to_string());
        rest.drain(..cut);
        while rest.first() == Some(&' ') {
            rest.remove(0);
        }
    }
    out.push(rest.into_iter().collect());
    out
}

/// The diagram as an SVG document.
pub fn render(s: &Steps) -> String {
    let l = layout(s);
    draw(s, &l, &Band::whole(&l), false)
}

/// The diagram for inlining in an HTML page (`--report`), cut into bands
/// of at most `per_band` steps, each its own `<svg>` showing its stretch of
/// the whole drawing (a page can add a long run's bands as they scroll
/// into view). No XML declaration; each step numbered and drawn as a group
/// (`<g class="step" id="step-N" data-step="N">`, the creation band
/// `data-step="setup"`) with a row-wide target a click or the page's
/// script can select. Returns each band's markup with its first step.
pub fn render_bands(s: &Steps, per_band: usize) -> Vec<(usize, String)> {
    let l = layout(s);
    let per_band = per_band.max(1);
    let mut out = Vec::new();
    let mut first = 0;
    loop {
        let last = (first + per_band).min(s.steps.len());
        // A band ends just below its last arrow, where the next row's
        // text has not begun.
        let top = if first == 0 {
            0
        } else {
            l.rows[first - 1].0 + 9
        };
        let bottom = if last == s.steps.len() {
            l.height
        } else {
            l.rows[last - 1].0 + 9
        };
        let band = Band {
            steps: first..last,
            top,
            bottom,
        };
        out.push((first, draw(s, &l, &band, true)));
        if last == s.steps.len() {
            break;
        }
        first = last;
    }
    out
}

/// The x of each lane's lifeline, in the drawing's pixels (for a page that
/// keeps the lanes' names in view over the diagram).
pub fn lane_centers(s: &Steps) -> Vec<usize> {
    (0..s.lanes.len())
        .map(|i| MARGIN_L + LANE_W / 2 + i * LANE_W)
        .collect()
}

/// Where everything goes.
struct Layout {
    width: usize,
    height: usize,
    /// Where the lifelines end and the lane heads repeat.
    bottom: usize,
    /// The creation band's top.
    note_y: usize,
    /// Per step: its arrow's y and its label's lines.
    rows: Vec<(usize, Vec<String>)>,
}

/// The stretch of the drawing one `<svg>` shows: its steps and its rows
/// of pixels, in the whole drawing's coordinates.
struct Band {
    steps: std::ops::Range<usize>,
    top: usize,
    bottom: usize,
}

impl Band {
    fn whole(l: &Layout) -> Band {
        Band {
            steps: 0..l.rows.len(),
            top: 0,
            bottom: l.height,
        }
    }
}

fn layout(s: &Steps) -> Layout {
    let lanes = s.lanes.len();
    let width = MARGIN_L + lanes * LANE_W + MARGIN_R;
    // Rows: each arrow's label lines above its line.
    let mut rows: Vec<(usize, Vec<String>)> = Vec::new();
    let mut y = TOP + HEAD_H + 20;
    let note_y = y;
    if s.setup > 0 {
        y += LINE_H + 16;
    }
    for st in &s.steps {
        // A self-step's text sits right of its lane, up to the next one.
        let span =
            st.from.abs_diff(st.to).max(1) * LANE_W - 16 - usize::from(st.from == st.to) * 30;
        let lines = wrap(&st.text(), span);
        y += lines.len() * LINE_H + 4;
        rows.push((y, lines));
        y += ROW_GAP;
    }
    let bottom = y + 10;
    Layout {
        width,
        height: bottom + HEAD_H + 20,
        bottom,
        note_y,
        rows,
    }
}

fn draw(s: &Steps, l: &Layout, band: &Band, inline: bool) -> String {
    let lanes = s.lanes.len();
    let lane_x = |i: usize| MARGIN_L + LANE_W / 2 + i * LANE_W;
    let (width, bottom, note_y, rows) = (l.width, l.bottom, l.note_y, &l.rows);
    let first = band.top == 0;
    let last = band.bottom == l.height;
    let height = band.bottom - band.top;

    let mut o = String::with_capacity(600 + band.steps.len() * 400);
    if !inline {
        let _ = writeln!(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    }
    let view = if band.top == 0 {
        format!("0 0 {width} {height}")
    } else {
        format!("0 {} {width} {height}", band.top)
    };
    let _ = writeln!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"{view}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"11\">"
    );
    if first {
        let _ = writeln!(
            o,
            "<title>{}</title>",
            esc(&format!("xsh sequence: {}", s.meta.script))
        );
        o.push_str("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#333\"/></marker></defs>\n");
    }
    let _ = writeln!(
        o,
        "<rect x=\"0\" y=\"{}\" width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>",
        band.top
    );
    if first {
        let _ = writeln!(
            o,
            "<text x=\"10\" y=\"22\" font-size=\"14\" font-weight=\"bold\">{}</text>",
            esc(&s.meta.script)
        );
        let _ = writeln!(
            o,
            "<text x=\"10\" y=\"40\" fill=\"#555\">{}</text>",
            esc(&format!(
                "seed {}, {}, start {}: {} (xsh --sequence)",
                s.meta.seed,
                s.meta.profile,
                s.meta.start_time,
                s.summary()
            ))
        );
    }
    // Lifelines and lane heads, top and bottom.
    let (line_top, line_end) = ((TOP + HEAD_H).max(band.top), bottom.min(band.bottom));
    for i in 0..lanes {
        let x = lane_x(i);
        let _ = writeln!(
            o,
            "<line x1=\"{x}\" y1=\"{line_top}\" x2=\"{x}\" y2=\"{line_end}\" stroke=\"#bbb\" stroke-dasharray=\"4 3\"/>"
        );
        let heads = [(TOP, first), (bottom, last)];
        for (top, shown) in heads {
            if !shown {
                continue;
            }
            let _ = writeln!(
                o,
                "<rect x=\"{}\" y=\"{top}\" width=\"{}\" height=\"{HEAD_H}\" rx=\"4\" fill=\"#eef3fa\" stroke=\"#4a6fa5\"/><text x=\"{x}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12\" font-weight=\"bold\">{}</text>",
                x - (LANE_W - 30) / 2,
                LANE_W - 30,
                top + 19,
                esc(s.title(i))
            );
        }
    }
    // The folded creation, as a band across every lane.
    if s.setup > 0 && first {
        if inline {
            o.push_str("<g class=\"step setup\" data-step=\"setup\">");
        }
        let _ = writeln!(
            o,
            "<rect x=\"{}\" y=\"{note_y}\" width=\"{}\" height=\"{}\" fill=\"#f4f4f4\" stroke=\"#ccc\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
            MARGIN_L + 10,
            lanes * LANE_W - 20,
            LINE_H + 8,
            MARGIN_L + lanes * LANE_W / 2,
            note_y + LINE_H,
            esc(&s.setup_note())
        );
        if inline {
            o.push_str("</g>\n");
        }
    }
    // Arrows.
    for n in band.steps.clone() {
        let (st, (y, lines)) = (&s.steps[n], (&rows[n].0, &rows[n].1));
        let y = *y;
        let (x1, x2) = (lane_x(st.from), lane_x(st.to));
        let mut time_x = 8;
        if inline {
            // A row-wide target under the step, and its number (1-based,
            // as the page names steps) before its time.
            let top = y - 8 - lines.len() * LINE_H;
            let _ = write!(
                o,
                "<g class=\"step\" id=\"step-{n}\" data-step=\"{n}\"><rect class=\"hit\" x=\"0\" y=\"{top}\" width=\"{width}\" height=\"{}\" fill=\"transparent\"/><text class=\"num\" x=\"8\" y=\"{}\" fill=\"#777\">{}</text>",
                y + 10 - top,
                y + 4,
                n + 1
            );
            time_x = 38;
        }
        let _ = writeln!(
            o,
            "<text x=\"{time_x}\" y=\"{}\" fill=\"#777\">{}</text>",
            y + 4,
            esc(&time_label(st.time))
        );
        let (tx, anchor) = if x1 == x2 {
            (x1 + 22, "start")
        } else {
            ((x1 + x2) / 2, "middle")
        };
        for (k, line) in lines.iter().enumerate() {
            let ly = y - 4 - (lines.len() - 1 - k) * LINE_H;
            let _ = writeln!(
                o,
                "<text x=\"{tx}\" y=\"{ly}\" text-anchor=\"{anchor}\">{}</text>",
                esc(line)
            );
        }
        if x1 == x2 {
            // Within one layer: a loop out of the lane and back.
            let top = y - 4 - lines.len() * LINE_H;
            let _ = writeln!(
                o,
                "<path d=\"M {x1} {top} h 16 V {y} h -16\" fill=\"none\" stroke=\"#666\" stroke-width=\"1.2\" marker-end=\"url(#arrow)\"/>"
            );
        } else {
            let _ = writeln!(
                o,
                "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"#333\" stroke-width=\"1.2\" marker-end=\"url(#arrow)\"/>"
            );
        }
        if inline {
            o.push_str("</g>\n");
        }
    }
    o.push_str("</svg>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_after_commas_and_breaks_long_labels_readably() {
        let w = wrap("read a, read b, write control/shutdown", 15 * CHAR_W);
        assert_eq!(w, ["read a, read b,", "write control/", "shutdown"]);
        let w = wrap(
            "xenstore change: XendDomainInfo._handleShutdownWatch",
            20 * CHAR_W,
        );
        // Cut before the underscore, so the method name stays whole.
        assert_eq!(
            w,
            [
                "xenstore change:",
                "XendDomainInfo.",
                "_handleShutdownWatch"
            ]
        );
        assert!(w.iter().all(|l| l.chars().count() <= 20));
        assert_eq!(wrap("", 100), [""]);
    }

    #[test]
    fn times_read_in_milliseconds_then_seconds() {
        assert_eq!(time_label(SimTime(1_234_567)), "1.234 ms");
        assert_eq!(time_label(SimTime(300_000_000_000)), "300.000 s");
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot; ");
    }
}
