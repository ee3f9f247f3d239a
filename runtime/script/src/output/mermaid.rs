//! `--sequence FILE.mmd`: the folded steps as a Mermaid sequence diagram,
//! for pasting into Markdown that renders Mermaid (GitHub, GitLab).

use super::sequence::Steps;
use super::svg::time_label;

/// The diagram as Mermaid text.
pub fn render(s: &Steps) -> String {
    let mut out = String::from("sequenceDiagram\n");
    out.push_str(&format!(
        "    %% xsh: {} (seed {}, {}), {}\n",
        clean(&s.meta.script),
        s.meta.seed,
        s.meta.profile,
        s.summary()
    ));
    for (i, l) in s.lanes.iter().enumerate() {
        out.push_str(&format!(
            "    participant {} as {}\n",
            l.prefix(),
            s.title(i)
        ));
    }
    if s.setup > 0 {
        out.push_str(&format!(
            "    Note over {},{}: {}\n",
            s.lanes[0].prefix(),
            s.lanes[s.lanes.len() - 1].prefix(),
            clean(&s.setup_note())
        ));
    }
    for st in &s.steps {
        out.push_str(&format!(
            "    {}->>{}: {} {}\n",
            s.lanes[st.from].prefix(),
            s.lanes[st.to].prefix(),
            time_label(st.time),
            clean(&st.text())
        ));
    }
    out
}

/// Mermaid ends a statement at `;` and reads `#...;` as an entity, and a
/// line break would end the arrow: keep labels on one plain line.
fn clean(s: &str) -> String {
    s.replace([';', '\n'], ",").replace('#', "no. ")
}
