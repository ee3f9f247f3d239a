//! One copy of each string that every domain of a host repeats: a guest
//! kernel's watch tokens and frontend nodenames, the device classes and
//! ids and `on_*` actions of xend's configs. Ten thousand domains then hold
//! a pointer each to a handful of strings instead of ten thousand copies.

use std::rc::Rc;

use crate::fxhash::FxHashSet;

/// The strings held once, each handed out as a shared `Rc<str>`.
#[derive(Default)]
pub struct SharedStrs(FxHashSet<Rc<str>>);

impl SharedStrs {
    /// The shared copy of `s` (made on first asking).
    pub fn get(&mut self, s: &str) -> Rc<str> {
        if let Some(have) = self.0.get(s) {
            return have.clone();
        }
        let s: Rc<str> = s.into();
        self.0.insert(s.clone());
        s
    }
}

#[cfg(test)]
mod tests {
    use super::SharedStrs;
    use std::rc::Rc;

    /// Asking twice for equal strings gives the same allocation; different
    /// strings stay different.
    #[test]
    fn equal_strings_share_one_copy() {
        let mut strs = SharedStrs::default();
        let a = strs.get("device/vif/0");
        let b = strs.get(&String::from("device/vif/0"));
        let c = strs.get("device/vbd/51712");
        assert!(Rc::ptr_eq(&a, &b));
        assert_eq!(&*c, "device/vbd/51712");
        assert!(!Rc::ptr_eq(&a, &c));
    }
}
