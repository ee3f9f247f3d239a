//! Script hooks: `on(probe, f)` observes a function at its site, `hook(probe, f)`
//! replaces it from its site on. This file is the only adapter between Rhai
//! `FnPtr`s and the model's probe dispatcher.
//!
//! Semantics (docs/hooks.md):
//! - every matching `on` runs, in install order, before the replacing hook;
//! - the most recently installed matching `hook` replaces the function (a
//!   domain's own `dom.hook` before a global one); its return value is the
//!   function's result;
//! - `ctx.orig()` runs the rest of the function and returns its result; a
//!   hook that keeps `ctx` (a closure captured it) without calling `orig()`
//!   leaves the call suspended until `orig()` is called or `ctx` is dropped
//!   (then the function returns `()`);
//! - a hook that throws stops the world after the current event; the
//!   function runs on unhooked so no state is left half-changed, and the
//!   error is reported at its position in the script.

use std::rc::{Rc, Weak};

use rhai::{Dynamic, FnPtr};
use xsh_sim::probe::{CallCell, CallState, HookHost, Probe, Site, SiteOutcome};
use xsh_sim::stack::{CtxId, NO_DOM};
use xsh_sim::{Sim, Value};

use crate::closure_call::FoundBody;
use crate::convert::{from_dynamic, to_dynamic};
use crate::HostState;

/// Observe or replace.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum HookKind {
    /// `on`.
    On,
    /// `hook`.
    Hook,
}

/// An installed hook.
#[derive(Clone)]
pub struct HookEntry {
    /// Its id (returned to the script).
    pub id: i64,
    /// The probe.
    pub probe: Probe,
    /// Only for this domain (`dom.on`, `dom.hook`).
    pub domid: Option<u32>,
    /// Observe or replace.
    pub kind: HookKind,
    /// The closure, shared: each call of the probe takes the hooks that
    /// match it out of the list before calling them (a hook may install or
    /// remove hooks), and a pointer with curried values is costly to copy.
    pub f: Rc<FnPtr>,
    /// The closure's statements, once found (shared by the entry's copies).
    pub(crate) body: Rc<FoundBody>,
}

impl HookEntry {
    /// Does a call for domain `domid` meet this hook?
    fn meets(&self, domid: u32) -> bool {
        self.domid.is_none_or(|d| d == domid)
    }
}

/// The installed hooks, by probe: every call of a hooked probe looks up its
/// own, and a script may hook all of them. Each probe's list is in install
/// order (the order its `on`s run in); ids grow with each install.
///
/// A call of the probe takes its list as it stands (a hook it runs may
/// install or remove others, which changes the next call, not this one):
/// lists are shared, and copied only when changed while a call holds one.
#[derive(Default)]
pub struct Hooks {
    /// By the probe's ordinal (`Probe as usize`): a call of a hooked probe
    /// finds its list in one index, not a search of every hooked probe.
    by_probe: Vec<Option<Rc<Vec<HookEntry>>>>,
}

impl Hooks {
    fn push(&mut self, h: HookEntry) {
        let i = h.probe as usize;
        if self.by_probe.len() <= i {
            self.by_probe.resize(Probe::ALL.len().max(i + 1), None);
        }
        Rc::make_mut(self.by_probe[i].get_or_insert_with(Default::default)).push(h);
    }

    /// Removes hook `id`: its probe, and whether the probe has others.
    fn remove(&mut self, id: i64) -> Option<(Probe, bool)> {
        let slot = self
            .by_probe
            .iter_mut()
            .find(|of| of.as_ref().is_some_and(|of| of.iter().any(|h| h.id == id)))?;
        let of = slot.as_mut().expect("found");
        let probe = of[0].probe;
        Rc::make_mut(of).retain(|h| h.id != id);
        let still = !of.is_empty();
        if !still {
            *slot = None;
        }
        Some((probe, still))
    }

    fn lists(&self) -> impl Iterator<Item = &Rc<Vec<HookEntry>>> {
        self.by_probe.iter().flatten()
    }

    /// Every hook, in install order (what a report lists).
    pub fn in_install_order(&self) -> Vec<&HookEntry> {
        let mut all: Vec<&HookEntry> = self.lists().flat_map(|of| of.iter()).collect();
        all.sort_by_key(|h| h.id);
        all
    }

    /// Does a `hook` (not only `on` observers) watch `probe`, for any domain?
    fn any_replacing(&self, probe: Probe) -> bool {
        self.at(probe)
            .is_some_and(|of| of.iter().any(|h| h.kind == HookKind::Hook))
    }

    /// No hook installed.
    pub fn is_empty(&self) -> bool {
        self.lists().next().is_none()
    }

    /// The hooks on `probe`, in install order, as a call finds them (each
    /// one's `domid` says which calls it meets: `HookEntry::meets`).
    fn at(&self, probe: Probe) -> Option<&Rc<Vec<HookEntry>>> {
        self.by_probe.get(probe as usize)?.as_ref()
    }
}

/// Resolves a probe name, or explains with the nearest names.
pub fn resolve_probe(name: &str) -> Result<Probe, String> {
    Probe::by_name(name).ok_or_else(|| {
        let near = Probe::nearest(name, 3).join(", ");
        format!("unknown probe \"{name}\"; nearest: {near} (xsh probes lists them all)")
    })
}

/// Installs a hook a script gave: its closure must take the probe context.
pub fn install(
    st: &HostState,
    name: &str,
    domid: Option<u32>,
    kind: HookKind,
    f: FnPtr,
) -> Result<i64, String> {
    let probe = resolve_probe(name)?;
    // Spelled out whole: a script installs hooks by the hundred.
    let what = match (kind, domid) {
        (HookKind::On, None) => {
            "on(...) expects a closure taking one parameter (the probe context)"
        }
        (HookKind::Hook, None) => {
            "hook(...) expects a closure taking one parameter (the probe context)"
        }
        (HookKind::On, Some(_)) => {
            "dom.on(...) expects a closure taking one parameter (the probe context)"
        }
        (HookKind::Hook, Some(_)) => {
            "dom.hook(...) expects a closure taking one parameter (the probe context)"
        }
    };
    if let Some(msg) = st.arity_error(&f, 1, what) {
        return Err(msg);
    }
    Ok(add(st, probe, domid, kind, f))
}

/// Installs a hook xsh itself made (the built-in faults' Rust closures),
/// which has no script function to check.
pub fn install_native(
    st: &HostState,
    name: &str,
    domid: Option<u32>,
    kind: HookKind,
    f: FnPtr,
) -> Result<i64, String> {
    Ok(add(st, resolve_probe(name)?, domid, kind, f))
}

fn add(st: &HostState, probe: Probe, domid: Option<u32>, kind: HookKind, f: FnPtr) -> i64 {
    let id = st.next_hook.get();
    st.next_hook.set(id + 1);
    st.hooks.borrow_mut().push(HookEntry {
        id: id as i64,
        probe,
        domid,
        kind,
        f: Rc::new(f),
        body: Rc::default(),
    });
    st.sim.set_hooked(probe, true);
    // A hook's `ctx` names its thread, and may be kept past the thread's end.
    st.sim.ctxs.borrow_mut().recycle = false;
    st.sim
        .set_replaced(probe, st.hooks.borrow().any_replacing(probe));
    id as i64
}

/// Removes the hook `id` returned by `on`/`hook`; false if there is none.
/// A call already suspended in that hook keeps its `ctx`.
pub fn uninstall(st: &HostState, id: i64) -> bool {
    let removed = st.hooks.borrow_mut().remove(id);
    let Some((probe, still)) = removed else {
        return false;
    };
    st.sim.set_hooked(probe, still);
    st.sim
        .set_replaced(probe, st.hooks.borrow().any_replacing(probe));
    true
}

/// The probe dispatcher's view of the script host.
pub struct Dispatcher(pub Weak<HostState>);

impl HookHost for Dispatcher {
    fn at_site(&self, _sim: &Sim, site: &Site) -> SiteOutcome {
        let Some(st) = self.0.upgrade() else {
            return SiteOutcome::Continue;
        };
        let Some(entries) = st.hooks.borrow().at(site.probe).cloned() else {
            return SiteOutcome::Continue;
        };
        let entries = || entries.iter().filter(|h| h.meets(site.domid));
        for h in entries().filter(|h| h.kind == HookKind::On) {
            let ctx = CtxApi::new(&st, site, false);
            // A tuple, not a `Vec`: the engine copies the arguments into
            // its own list anyway.
            if st.call_hook(&h.f, &h.body, (Dynamic::from(ctx),)).is_none() {
                return SiteOutcome::Error(pending_msg(&st));
            }
        }
        // A call running in place (no cell) has only observers: a `hook`
        // one of them installed meanwhile replaces the next call, not this.
        if site.cell.is_none() {
            return SiteOutcome::Continue;
        }
        let replacing = entries()
            .filter(|h| h.kind == HookKind::Hook)
            .max_by_key(|h| (h.domid.is_some(), h.id))
            .cloned();
        let Some(h) = replacing else {
            return SiteOutcome::Continue;
        };
        let inner = Rc::new(CtxInner::new(&st, site, true));
        let arg = Dynamic::from(CtxApi(inner.clone()));
        let r = st.call_hook(&h.f, &h.body, (arg,));
        match r {
            None => SiteOutcome::Error(pending_msg(&st)),
            Some(v) => {
                let at_site = inner
                    .cell
                    .as_ref()
                    .is_some_and(|c| c.state() == CallState::AtSite);
                if Rc::strong_count(&inner) > 1 && at_site {
                    SiteOutcome::Deferred
                } else {
                    *st.last_replacing_hook.borrow_mut() = Some(h.f.fn_name().to_string());
                    SiteOutcome::Return(from_dynamic(&v))
                }
            }
        }
    }
}

fn pending_msg(st: &HostState) -> String {
    st.pending_error
        .borrow()
        .as_ref()
        .map(|e| e.to_string())
        .unwrap_or_else(|| "a hook failed".into())
}

/// What a hook's `ctx` holds.
pub struct CtxInner {
    st: Rc<HostState>,
    /// The suspended call (a `hook`'s; an `on` observer's call runs on in
    /// place and has none).
    pub cell: Option<Rc<CallCell>>,
    /// The probe.
    pub probe: Probe,
    /// The domain, or `NO_DOM`.
    pub domid: u32,
    /// Arguments (the site's, shared).
    pub args: Rc<[Value]>,
    /// Virtual time at the site.
    pub now: f64,
    /// A `hook` (may call `orig`) rather than an `on`.
    pub replacing: bool,
    /// The context the call runs on.
    pub ctx: CtxId,
}

impl CtxInner {
    fn new(st: &Rc<HostState>, site: &Site, replacing: bool) -> CtxInner {
        CtxInner {
            st: st.clone(),
            cell: site.cell.clone(),
            probe: site.probe,
            domid: site.domid,
            args: site.args.clone(),
            now: st.sim.now().as_secs_f64(),
            replacing,
            ctx: site.ctx,
        }
    }
}

impl Drop for CtxInner {
    fn drop(&mut self) {
        // A kept call dropped without orig(): the function returns ().
        if let Some(cell) = self.cell.as_ref().filter(|_| self.replacing) {
            if cell.state() == CallState::Deferred {
                cell.resolve(&self.st.sim, Value::Unit);
            }
        }
    }
}

/// The probe context a hook receives (`ctx`).
#[derive(Clone)]
pub struct CtxApi(pub Rc<CtxInner>);

impl CtxApi {
    fn new(st: &Rc<HostState>, site: &Site, replacing: bool) -> CtxApi {
        CtxApi(Rc::new(CtxInner::new(st, site, replacing)))
    }

    /// The host.
    pub fn st(&self) -> &Rc<HostState> {
        &self.0.st
    }

    /// `ctx.args`: the call's arguments by name, strict about names.
    pub fn args_map(&self) -> ProbeArgs {
        let mut m = rhai::Map::new();
        for (i, v) in self.0.args.iter().enumerate() {
            let name = self.0.probe.def().args.get(i).copied().unwrap_or("arg");
            m.insert(name.into(), to_dynamic(v));
        }
        ProbeArgs {
            probe: self.0.probe.name(),
            names: self.0.probe.def().args,
            map: m,
        }
    }

    /// `ctx.orig()`.
    pub fn orig(&self) -> Result<Dynamic, String> {
        if !self.0.replacing {
            return Err(format!(
                "ctx.orig() is for hook(): an on() observer of {} cannot run or skip the original",
                self.0.probe.name()
            ));
        }
        let Some(cell) = &self.0.cell else {
            return Err(format!(
                "ctx.orig(): {} has no call to run",
                self.0.probe.name()
            ));
        };
        self.0.st.sim.run_orig(cell).map(|v| to_dynamic(&v))
    }

    /// The domain the call concerns.
    pub fn domid(&self) -> Option<u32> {
        (self.0.domid != NO_DOM).then_some(self.0.domid)
    }
}

/// `ctx.args`: a probe call's arguments by name. Read like a map
/// (`ctx.args.dev`, `ctx.args["dev"]`, printed as one), but a name the
/// probe does not have is an error naming the ones it has, where a map
/// would quietly give `()`.
#[derive(Clone)]
pub struct ProbeArgs {
    /// The probe, for messages.
    pub probe: &'static str,
    /// Its argument names, in order (docs/probes.md).
    pub names: &'static [&'static str],
    /// The values.
    pub map: rhai::Map,
}

impl ProbeArgs {
    /// The value of argument `key`, or an error naming the valid keys.
    pub fn get(&self, key: &str) -> Result<Dynamic, String> {
        if let Some(v) = self.map.get(key) {
            return Ok(v.clone());
        }
        let near = crate::suggest::closest(key, self.names.iter().copied());
        let mean = crate::suggest::did_you_mean(&near, |s| format!("`{s}`"))
            .map_or(String::new(), |d| format!(" ({d})"));
        let has = if self.names.is_empty() {
            "it takes none".to_string()
        } else {
            format!("its arguments are {}", self.names.join(", "))
        };
        Err(format!(
            "{} has no argument `{key}`{mean}: {has}",
            self.probe
        ))
    }
}
