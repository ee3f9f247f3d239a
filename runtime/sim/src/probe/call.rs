//! The probe dispatcher: `Sim::call`, `Sim::site` and `Sim::run_orig`.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context as TaskCx, Poll};

use super::Probe;
use crate::exec::{LocalFuture, TaskId};
use crate::stack::{CtxId, Frame};
use crate::trace::{CallId, CallRecord, NO_CALL};
use crate::value::{ProbeValue, Value};
use crate::Sim;

/// Where a replaced call stands.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum CallState {
    /// Stopped at its site; the hook is deciding.
    AtSite,
    /// The hook kept the call (it holds the context) to run or drop it later.
    Deferred,
    /// `orig()` is running the rest of the function.
    Running,
    /// Finished: the result is known.
    Done,
}

/// A call stopped at its site: the rest of the function, and its result.
pub struct CallCell {
    body: RefCell<Option<LocalFuture<Value>>>,
    result: RefCell<Option<Value>>,
    state: Cell<CallState>,
    /// The task the call runs on.
    pub task: TaskId,
    /// The context the call's frame is on.
    pub ctx: CtxId,
    /// The depth of the call's frame on that context.
    pub depth: usize,
    /// The probe.
    pub probe: Probe,
}

impl CallCell {
    /// Where the call stands.
    pub fn state(&self) -> CallState {
        self.state.get()
    }

    /// The result, once known.
    pub fn result(&self) -> Option<Value> {
        self.result.borrow().clone()
    }

    /// Ends a deferred call without running the rest of the function (the
    /// hook dropped it): the call returns `v`.
    pub fn resolve(&self, sim: &Sim, v: Value) {
        if matches!(self.state.get(), CallState::AtSite | CallState::Deferred) {
            let was_deferred = self.state.get() == CallState::Deferred;
            *self.result.borrow_mut() = Some(v);
            self.state.set(CallState::Done);
            let body = self.body.borrow_mut().take();
            drop(body);
            if was_deferred {
                sim.exec.wake(self.task);
            }
        }
    }
}

/// What a hook host sees at a site.
pub struct Site {
    /// The probe.
    pub probe: Probe,
    /// The domain the call concerns, or `NO_DOM`.
    pub domid: u32,
    /// The call's arguments, shared by the `ctx` of each hook that runs
    /// here (a probe with several observers builds them once).
    pub args: Rc<[Value]>,
    /// The context the call runs on.
    pub ctx: CtxId,
    /// The call itself, for `orig()`: `None` where only observers (`on`)
    /// watch the probe, whose calls run in place.
    pub cell: Option<Rc<CallCell>>,
}

/// What the hook host decided.
pub enum SiteOutcome {
    /// Run the function on (only observers ran, or the replacing hook chose so).
    Continue,
    /// The function returns this value (the replacing hook's result).
    Return(Value),
    /// The hook kept the call to run it later; the frame stays suspended.
    Deferred,
    /// A hook failed: the world stops after this event; the function runs on
    /// so that no state is left half-changed.
    Error(String),
}

/// The script side of probes: runs `on` observers and `hook` replacements.
pub trait HookHost {
    /// Called at the site of a hooked probe, with no world borrow held.
    fn at_site(&self, sim: &Sim, site: &Site) -> SiteOutcome;
}

struct FrameGuard {
    sim: Sim,
    ctx: CtxId,
    depth: usize,
    rec: CallId,
}

impl Drop for FrameGuard {
    fn drop(&mut self) {
        let mut ctxs = self.sim.ctxs.borrow_mut();
        let stack = &mut ctxs.get_mut(self.ctx).stack;
        if stack.len() > self.depth {
            stack.truncate(self.depth);
        }
        drop(ctxs);
        if self.rec != NO_CALL {
            // A killed task drops its frames too: its calls end when it dies.
            let now = self.sim.now();
            self.sim.trace.borrow_mut().end_call(self.rec, now);
        }
    }
}

/// The future of `Sim::site()`.
pub struct SiteWait {
    sim: Sim,
    hit: bool,
}

impl Future for SiteWait {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut TaskCx<'_>) -> Poll<()> {
        // A call running in place (no frame) has no site to stop at: the
        // frame on top belongs to some caller, whose site is its own.
        if self.hit || !self.sim.framed_here.get() {
            return Poll::Ready(());
        }
        let ctx = self.sim.current_ctx();
        let mut ctxs = self.sim.ctxs.borrow_mut();
        let stack = &mut ctxs.get_mut(ctx).stack;
        let depth = stack.len();
        match stack.last_mut() {
            Some(f) if f.hooked && !f.sited => {
                f.sited = true;
                drop(ctxs);
                self.sim.site_hit.set(Some((ctx, depth - 1)));
                self.hit = true;
                Poll::Pending
            }
            _ => Poll::Ready(()),
        }
    }
}

impl Sim {
    /// Runs a modelled function: `body` is its code, `args` builds what a hook
    /// sees (only called when a hook or the trace reads it). Functions with an
    /// entry log line call `site()` right after it; the others have their site
    /// at entry.
    ///
    /// What a call costs depends on who can see it (`Sim::frames`): a call
    /// nobody can observe runs its body in place, with no frame, no record
    /// and no allocation; one whose stack can be printed pushes its frame,
    /// and so does one with `on` observers, which run at its site while it
    /// waits in place; only a call a `hook` may replace moves its body to
    /// the heap, where the hook can run it later or never.
    pub fn call<T, F, A>(&self, p: Probe, domid: u32, args: A, body: F) -> Call<T, F, A>
    where
        T: ProbeValue,
        F: Future<Output = T> + 'static,
        A: FnOnce() -> Vec<Value> + 'static,
    {
        Call {
            sim: self.clone(),
            p,
            domid,
            body: Some(body),
            stage: Stage::Start(Some(args)),
        }
    }

    async fn call_boxed<T: ProbeValue>(
        self,
        p: Probe,
        domid: u32,
        args: Box<dyn FnOnce() -> Vec<Value>>,
        body: LocalFuture<T>,
    ) -> T {
        let ctx = self.current_ctx();
        let hooked = self.is_hooked(p);
        // The trace keeps the arguments; a hook then gets the same values.
        let (args, traced) = if self.tracing.get() {
            let v = args();
            let kept = v.clone();
            let args: Box<dyn FnOnce() -> Vec<Value>> = Box::new(move || kept);
            (args, Some(v))
        } else {
            (args, None)
        };
        let (depth, rec) = self.push_frame(ctx, p, domid, hooked, traced);
        let _guard = FrameGuard {
            sim: self.clone(),
            ctx,
            depth,
            rec,
        };
        if !hooked {
            return body.await;
        }
        let entry_site = !p.def().entry_log;
        let sim = self.clone();
        let erased: LocalFuture<Value> = Box::pin(async move {
            if entry_site {
                sim.site().await;
            }
            body.await.to_value()
        });
        let task = self.exec.current().expect("probe called outside a task");
        let cell = Rc::new(CallCell {
            body: RefCell::new(Some(erased)),
            result: RefCell::new(None),
            state: Cell::new(CallState::AtSite),
            task,
            ctx,
            depth,
            probe: p,
        });
        Hooked::<T> {
            sim: self.clone(),
            cell,
            args: Some(args),
            domid,
            waiting: false,
            _t: PhantomData,
        }
        .await
    }

    /// Marks the site of the running function (see `call`).
    pub fn site(&self) -> SiteWait {
        SiteWait {
            sim: self.clone(),
            hit: false,
        }
    }

    fn push_frame(
        &self,
        ctx: CtxId,
        p: Probe,
        domid: u32,
        hooked: bool,
        traced: Option<Vec<Value>>,
    ) -> (usize, CallId) {
        let now = self.now();
        let mut ctxs = self.ctxs.borrow_mut();
        let c = ctxs.get_mut(ctx);
        let hop = c.stack.last().and_then(|f| f.hop).or(c.cause);
        let parent = c.stack.last().map(|f| f.rec).filter(|&r| r != NO_CALL);
        let depth = c.stack.len();
        let rec = match traced {
            Some(args) => self.trace.borrow_mut().record_call(CallRecord {
                time: now,
                end: None,
                ctx,
                probe: p,
                domid,
                hop,
                parent,
                args,
            }),
            None => NO_CALL,
        };
        c.stack.push(Frame {
            probe: p,
            line: 0,
            domid,
            entered: now,
            hop,
            hooked,
            sited: false,
            rec,
        });
        (depth, rec)
    }

    /// Runs the rest of a call stopped at its site (`ctx.orig()`), now, on the
    /// call's own context: the world runs on until it returns.
    pub fn run_orig(&self, cell: &Rc<CallCell>) -> Result<Value, String> {
        match cell.state.get() {
            CallState::Done => {
                return Err(format!(
                    "ctx.orig() called twice: {} already ran (or was dropped)",
                    cell.probe.name()
                ))
            }
            CallState::Running => {
                return Err(format!(
                    "ctx.orig() called again while {} is still running",
                    cell.probe.name()
                ))
            }
            _ => {}
        }
        let was_deferred = cell.state.get() == CallState::Deferred;
        cell.state.set(CallState::Running);
        let res = loop {
            let Some(mut body) = cell.body.borrow_mut().take() else {
                break Err(format!("{} has no body left to run", cell.probe.name()));
            };
            let prev = self.exec.set_current(Some(cell.task));
            // Polled here, not by the executor: a sleep in the body is
            // queued, and `run_until_woken` below runs the world to it.
            let prev_polled = self.exec.set_polled(None);
            let outer = self.framed_here.replace(true);
            let polled = body
                .as_mut()
                .poll(&mut TaskCx::from_waker(&crate::exec::noop_waker()));
            self.framed_here.set(outer);
            self.exec.set_polled(prev_polled);
            self.exec.set_current(prev);
            match polled {
                Poll::Ready(v) => break Ok(v),
                Poll::Pending => {
                    *cell.body.borrow_mut() = Some(body);
                    if !self.run_until_woken(cell.task) {
                        break Err(format!(
                            "ctx.orig(): {} never returned; the world ran out of events while it waited",
                            cell.probe.name()
                        ));
                    }
                }
            }
        };
        if let Ok(v) = &res {
            *cell.result.borrow_mut() = Some(v.clone());
        }
        cell.state.set(CallState::Done);
        if was_deferred {
            self.exec.wake(cell.task);
        }
        res
    }
}

/// A hooked call's future: polls the body up to its site, asks the host,
/// then runs on, returns the hook's value, or waits for a deferred `orig()`.
struct Hooked<T> {
    sim: Sim,
    cell: Rc<CallCell>,
    args: Option<Box<dyn FnOnce() -> Vec<Value>>>,
    domid: u32,
    waiting: bool,
    _t: PhantomData<T>,
}

impl<T> Unpin for Hooked<T> {}

impl<T: ProbeValue> Hooked<T> {
    fn finish(&self, v: Value) -> T {
        match T::from_value(v) {
            Ok(t) => t,
            Err(msg) => {
                self.sim.abort(format!(
                    "hook on {} returned the wrong type: {msg}",
                    self.cell.probe.name()
                ));
                // Keep the world consistent: fall back to the original result
                // if it ran, else to the type's neutral value.
                self.cell
                    .result()
                    .and_then(|r| T::from_value(r).ok())
                    .unwrap_or_else(|| {
                        T::from_value(Value::Unit).unwrap_or_else(|_| unreachable_value())
                    })
            }
        }
    }
}

fn unreachable_value<T>() -> T {
    // Every ProbeValue accepts Unit; see value.rs.
    panic!("a ProbeValue type rejected (): broken invariant")
}

impl<T: ProbeValue> Future for Hooked<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<T> {
        loop {
            if self.waiting || self.cell.state() == CallState::Done {
                if self.cell.state() == CallState::Done {
                    let v = self.cell.result().unwrap_or(Value::Unit);
                    return Poll::Ready(self.finish(v));
                }
                return Poll::Pending;
            }
            let Some(mut body) = self.cell.body.borrow_mut().take() else {
                return Poll::Pending;
            };
            let outer = self.sim.framed_here.replace(true);
            let polled = body.as_mut().poll(cx);
            self.sim.framed_here.set(outer);
            match polled {
                Poll::Ready(v) => {
                    *self.cell.result.borrow_mut() = Some(v.clone());
                    self.cell.state.set(CallState::Done);
                    return Poll::Ready(self.finish(v));
                }
                Poll::Pending => {
                    *self.cell.body.borrow_mut() = Some(body);
                    let at_site = self.sim.site_hit.get() == Some((self.cell.ctx, self.cell.depth));
                    if !at_site {
                        return Poll::Pending;
                    }
                    self.sim.site_hit.set(None);
                    let args = self.args.take().map(|f| f()).unwrap_or_default();
                    let site = Site {
                        probe: self.cell.probe,
                        domid: self.domid,
                        args: args.into(),
                        ctx: self.cell.ctx,
                        cell: Some(self.cell.clone()),
                    };
                    let outcome = match self.sim.hook_host() {
                        Some(host) => host.at_site(&self.sim, &site),
                        None => SiteOutcome::Continue,
                    };
                    drop(site);
                    match outcome {
                        SiteOutcome::Continue => continue,
                        SiteOutcome::Return(v) => {
                            if self.cell.state() != CallState::Done {
                                let body = self.cell.body.borrow_mut().take();
                                drop(body);
                                self.cell.state.set(CallState::Done);
                            }
                            return Poll::Ready(self.finish(v));
                        }
                        SiteOutcome::Deferred => {
                            if self.cell.state() == CallState::AtSite {
                                self.cell.state.set(CallState::Deferred);
                            }
                            self.waiting = true;
                            continue;
                        }
                        SiteOutcome::Error(msg) => {
                            self.sim.abort(msg);
                            if self.cell.state() == CallState::AtSite {
                                continue;
                            }
                            self.waiting = true;
                            continue;
                        }
                    }
                }
            }
        }
    }
}

/// The future of `Sim::call`.
pub struct Call<T, F, A> {
    sim: Sim,
    p: Probe,
    domid: u32,
    /// The body, kept here from the start: it runs where it is (a future
    /// moved from one stage to the next would be copied, and a thread's body
    /// is kilobytes), unless a hook takes it before its first poll.
    body: Option<F>,
    stage: Stage<T, A>,
}

enum Stage<T, A> {
    /// Not polled yet: the body has not started, so it may still move.
    Start(Option<A>),
    /// The body runs in place, pinned; `frame` is its frame if it pushed
    /// one, `observed` what observers get when the body reaches its site.
    InPlace {
        frame: Option<FrameMark>,
        observed: Option<SiteArgs<A>>,
    },
    /// Hooked: the body lives in a `CallCell` the hook host can run later.
    Hooked(LocalFuture<T>),
    Done,
}

/// The arguments observers see, made at the site (or already made for the
/// trace, which keeps them).
enum SiteArgs<A> {
    Lazy(A),
    Made(Vec<Value>),
}

impl<A: FnOnce() -> Vec<Value>> SiteArgs<A> {
    fn made(self) -> Vec<Value> {
        match self {
            SiteArgs::Lazy(f) => f(),
            SiteArgs::Made(v) => v,
        }
    }
}

/// Where a call's frame is, to pop it when the call ends (or its task dies).
struct FrameMark {
    ctx: CtxId,
    depth: usize,
    rec: CallId,
}

impl Sim {
    /// Runs the `on` observers of a call at its site, in place: nothing can
    /// replace the call, so its body goes on right after. A failing
    /// observer stops the world after this event, as at a hooked site.
    fn observe_site(&self, probe: Probe, domid: u32, ctx: CtxId, args: Vec<Value>) {
        let Some(host) = self.hook_host() else {
            return;
        };
        let site = Site {
            probe,
            domid,
            args: args.into(),
            ctx,
            cell: None,
        };
        if let SiteOutcome::Error(msg) = host.at_site(self, &site) {
            self.abort(msg);
        }
    }

    /// Pops a frame pushed by `push_frame` (and everything above it), and
    /// ends its trace record.
    fn pop_frame(&self, m: &FrameMark) {
        let mut ctxs = self.ctxs.borrow_mut();
        let stack = &mut ctxs.get_mut(m.ctx).stack;
        if stack.len() > m.depth {
            stack.truncate(m.depth);
        }
        drop(ctxs);
        if m.rec != NO_CALL {
            let now = self.now();
            self.trace.borrow_mut().end_call(m.rec, now);
        }
    }
}

impl<T, F, A> Future for Call<T, F, A>
where
    T: ProbeValue,
    F: Future<Output = T> + 'static,
    A: FnOnce() -> Vec<Value> + 'static,
{
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<T> {
        // SAFETY: `body` is never moved once polled (it is only reached
        // through `Pin::new_unchecked` below and dropped in place); a hook
        // takes it out only before its first poll.
        let this = unsafe { self.get_unchecked_mut() };
        if let Stage::Start(start) = &mut this.stage {
            let Some(args) = start.take() else {
                return Poll::Pending;
            };
            let sim = &this.sim;
            if sim.is_replaced(this.p) {
                let Some(body) = this.body.take() else {
                    return Poll::Pending;
                };
                let fut =
                    sim.clone()
                        .call_boxed(this.p, this.domid, Box::new(args), Box::pin(body));
                this.stage = Stage::Hooked(Box::pin(fut));
            } else if sim.is_hooked(this.p) {
                // Only observers: the body runs here, stopping at its site
                // just long enough for them.
                let ctx = sim.current_ctx();
                let (traced, args) = if sim.tracing.get() {
                    let v = args();
                    (Some(v.clone()), SiteArgs::Made(v))
                } else {
                    (None, SiteArgs::Lazy(args))
                };
                let (depth, rec) = sim.push_frame(ctx, this.p, this.domid, true, traced);
                let mut observed = Some(args);
                if !this.p.def().entry_log {
                    // Its site is its entry.
                    sim.ctxs.borrow_mut().get_mut(ctx).stack[depth].sited = true;
                    let args = observed.take().map(SiteArgs::made).unwrap_or_default();
                    sim.observe_site(this.p, this.domid, ctx, args);
                }
                this.stage = Stage::InPlace {
                    frame: Some(FrameMark { ctx, depth, rec }),
                    observed,
                };
            } else if sim.framed(this.p) {
                let ctx = sim.current_ctx();
                let traced = sim.tracing.get().then(args);
                let (depth, rec) = sim.push_frame(ctx, this.p, this.domid, false, traced);
                this.stage = Stage::InPlace {
                    frame: Some(FrameMark { ctx, depth, rec }),
                    observed: None,
                };
            } else {
                this.stage = Stage::InPlace {
                    frame: None,
                    observed: None,
                };
            }
        }
        match &mut this.stage {
            Stage::InPlace { frame, observed } => loop {
                let Some(body) = this.body.as_mut() else {
                    return Poll::Pending;
                };
                let outer = this.sim.framed_here.replace(frame.is_some());
                // SAFETY: see above; `body` stays where it is until dropped.
                let polled = unsafe { Pin::new_unchecked(body) }.poll(cx);
                this.sim.framed_here.set(outer);
                let Poll::Ready(v) = polled else {
                    // Stopped at its site (`SiteWait`): the observers run,
                    // then the body goes on, past the site this time.
                    let at = frame.as_ref().map(|m| (m.ctx, m.depth));
                    if observed.is_none() || at.is_none() || this.sim.site_hit.get() != at {
                        return Poll::Pending;
                    }
                    this.sim.site_hit.set(None);
                    let args = observed.take().map(SiteArgs::made).unwrap_or_default();
                    let (ctx, _) = at.expect("checked");
                    this.sim.observe_site(this.p, this.domid, ctx, args);
                    continue;
                };
                if let Some(m) = frame.take() {
                    this.sim.pop_frame(&m);
                }
                // Dropped where it ran.
                this.body = None;
                this.stage = Stage::Done;
                return Poll::Ready(v);
            },
            Stage::Hooked(fut) => {
                let v = std::task::ready!(fut.as_mut().poll(cx));
                this.stage = Stage::Done;
                Poll::Ready(v)
            }
            Stage::Start(_) | Stage::Done => Poll::Pending,
        }
    }
}

impl<T, F, A> Drop for Call<T, F, A> {
    fn drop(&mut self) {
        // A killed task drops its calls: their frames go with them.
        if let Stage::InPlace { frame: Some(m), .. } = &self.stage {
            self.sim.pop_frame(m);
        }
    }
}
