//! `xenstore-ls`-style dumps: one `name = "value"` line per node, indented
//! one space per level, optionally with `xenstore-ls -p` permissions.

use super::ops::perm_char;
use super::tree::Tree;
use super::Xenstore;

fn escape(v: &[u8]) -> String {
    let mut s = String::new();
    for &b in v {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s
}

impl Xenstore {
    /// The subtree under `path` as `xenstore-ls` prints it (children of
    /// `path`, not `path` itself); `None` if it does not exist.
    pub fn dump(&self, path: &str, perms: bool) -> Option<String> {
        if !super::ops::valid_path(path) {
            return None;
        }
        let id = self.lookup(path)?;
        let mut out = String::new();
        let mut stack: Vec<(u32, usize)> =
            self.tree.children(id).map(|c| (c, 0)).collect::<Vec<_>>();
        stack.reverse();
        while let Some((n, depth)) = stack.pop() {
            out.push_str(&" ".repeat(depth));
            out.push_str(self.tree.name(n));
            out.push_str(" = \"");
            out.push_str(&escape(self.tree.value(n)));
            out.push('"');
            if perms {
                let p: Vec<String> = self
                    .perms
                    .get(self.tree.node(n).perms)
                    .iter()
                    .map(|&(d, b)| format!("{}{d}", perm_char(b)))
                    .collect();
                out.push_str(&format!("  ({})", p.join(",")));
            }
            out.push('\n');
            let mut kids: Vec<(u32, usize)> =
                self.tree.children(n).map(|c| (c, depth + 1)).collect();
            kids.reverse();
            stack.extend(kids);
        }
        let _ = Tree::ROOT;
        Some(out)
    }
}
