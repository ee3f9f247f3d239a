//! A wake-up run in place (`exec::Bounds`) must leave the world as queuing
//! it would have: the same logs, the same events, the same clock, the same
//! requests, and the same limits hit at the same event. Each test runs a
//! host both ways and compares everything a user can see.

use crate::host::{build, xm_create, xm_shutdown, xm_shutdown_all, CreateSpec};
use crate::time::{SimDuration, SimTime};
use crate::{Config, RunEnd, Sim};

/// What a user sees of a world: every log, the events run, the clock, the
/// xenstore requests.
#[derive(Debug, PartialEq)]
struct Seen {
    logs: Vec<(String, String)>,
    events: u64,
    now: SimTime,
    requests: u64,
    ends: Vec<String>,
}

fn seen(sim: &Sim, ends: Vec<String>) -> Seen {
    let logs = sim.logs.borrow();
    let mut all = vec![
        ("xend.log".to_string(), logs.xend.text().to_string()),
        ("xen.log".to_string(), logs.xen.text().to_string()),
    ];
    all.extend(
        logs.files
            .iter()
            .map(|(name, f)| (name.clone(), f.text().to_string())),
    );
    Seen {
        logs: all,
        events: sim.exec.events_run(),
        now: sim.now(),
        requests: sim.xs.borrow().requests,
        ends,
    }
}

/// A host of `domains` HVM guests with the seed's five devices, created
/// one after another, with every wake-up queued unless `in_place`.
fn host(in_place: bool, domains: u32) -> Sim {
    let sim = build(Config::default());
    sim.logs.borrow_mut().set_keep(true);
    if !in_place {
        sim.exec.queue_every_wake();
    }
    for i in 0..domains {
        let mut s = CreateSpec::new(&format!("vm{i}"));
        s.devices = ["vif/0", "vkbd/0", "console/0", "vbd/51712", "vfb/0"]
            .iter()
            .map(|d| {
                let (class, devid) = d.split_once('/').expect("class/devid");
                (class.to_string(), devid.to_string())
            })
            .collect();
        xm_create(&sim, &s).expect("create");
    }
    sim
}

fn end(e: RunEnd) -> String {
    match e {
        RunEnd::Idle => "idle".into(),
        RunEnd::Deadline => "deadline".into(),
        RunEnd::Aborted(m) => m,
    }
}

/// Three domains shut down one `xm shutdown` at a time, then the world run
/// to its end: `run_while` (the commands) and `run_until` (the rest).
fn shut_down_in_turn(in_place: bool) -> Seen {
    let sim = host(in_place, 3);
    for i in 0..3 {
        xm_shutdown(&sim, &format!("vm{i}"), "poweroff", false).expect("shutdown");
    }
    let e = end(sim.run_until(None));
    seen(&sim, vec![e])
}

#[test]
fn a_host_shut_down_in_turn_is_the_same_world() {
    let queued = shut_down_in_turn(false);
    assert!(queued.events > 1_000 && queued.requests > 500, "{queued:?}");
    assert_eq!(shut_down_in_turn(true), queued);
}

/// Every domain shut down at once (`run_while` on a count other tasks
/// change), then the world run in steps of `step` of virtual time: each
/// step's deadline stops it where queuing would.
fn all_at_once_in_steps(in_place: bool, step: SimDuration) -> Seen {
    let sim = host(in_place, 4);
    let names: Vec<String> = (0..4).map(|i| format!("vm{i}")).collect();
    xm_shutdown_all(&sim, &names).expect("shutdown");
    let mut ends = Vec::new();
    loop {
        let until = sim.now().after(step);
        let e = sim.run_until(Some(until));
        ends.push(format!("{} at {}", end(e.clone()), sim.now().0));
        if !matches!(e, RunEnd::Deadline) {
            break;
        }
    }
    seen(&sim, ends)
}

#[test]
fn a_host_shut_down_at_once_in_steps_is_the_same_world() {
    for step in [
        SimDuration(700_000),
        SimDuration(7_000_000),
        SimDuration(1_000_000_000),
    ] {
        let queued = all_at_once_in_steps(false, step);
        assert!(queued.ends.len() > 1, "the run took steps");
        assert_eq!(all_at_once_in_steps(true, step), queued, "{step:?}");
    }
}

/// The event limit stops a run at the same event either way, mid-shutdown:
/// the `xm shutdown` commands' own run (`run_while`), or the world's run
/// after them (`run_until`).
fn stopped_by_the_event_limit(in_place: bool, limit: u64, in_commands: bool) -> Seen {
    let sim = host(in_place, 2);
    let mut ends = Vec::new();
    if in_commands {
        sim.cfg.borrow_mut().max_events = limit;
        let names = ["vm0".to_string(), "vm1".to_string()];
        ends.push(xm_shutdown_all(&sim, &names).err().unwrap_or_default());
    } else {
        for name in ["vm0", "vm1"] {
            xm_shutdown(&sim, name, "poweroff", false).expect("shutdown");
        }
        sim.cfg.borrow_mut().max_events = limit;
        ends.push(end(sim.run_until(None)));
    }
    seen(&sim, ends)
}

#[test]
fn the_event_limit_stops_the_same_world_at_the_same_event() {
    // The commands return after a few dozen events; the rest runs on.
    for (in_commands, limits) in [
        (true, &[1, 2, 5, 17, 30][..]),
        (false, &[1, 37, 300, 511, 512, 513]),
    ] {
        for &limit in limits {
            let queued = stopped_by_the_event_limit(false, limit, in_commands);
            assert!(queued.ends[0].contains("event limit"), "{:?}", queued.ends);
            let in_place = stopped_by_the_event_limit(true, limit, in_commands);
            assert_eq!(in_place, queued, "{limit} {in_commands}");
        }
    }
}

/// How a world of sleepers is run.
#[derive(Clone, Copy, Debug)]
enum Run {
    ToTheEnd,
    InSteps(u64),
    ToAnEventLimit(u64),
    /// `run_while` until a sleeper, which sleeps on, sets a flag.
    UntilFlagged,
}

/// What a world of sleepers showed: who ran when, the events, the clock,
/// how its runs ended, and the events run at each look of the interrupt
/// check.
type Slept = (Vec<Step>, u64, SimTime, Vec<String>, Vec<u64>);

/// (the instant, who, which of its steps) of a sleeper's step.
type Step = (u64, &'static str, u32);

/// Threads that do nothing but sleep, so that most wake-ups could run in
/// place, written to tie: one sleeps 3 ns at a time, one 6 ns, one to
/// every 10th ns, one yields (sleeps 0) 3,000 times; one raises a flag at
/// its fifth step and yields, one kills itself and yields, one kills a
/// sleeping victim (whose end is recorded when its future is dropped) and
/// yields; and callbacks land on the instants they share. The interrupt
/// check, which looks every 1,024 events, stops the world at its third
/// look.
fn sleepers(in_place: bool, run: Run) -> Slept {
    use crate::probe::Layer;
    use crate::stack::NO_DOM;
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    let sim = Sim::new(Config::default());
    if !in_place {
        sim.exec.queue_every_wake();
    }
    let order: Rc<RefCell<Vec<Step>>> = Rc::default();
    let flag = Rc::new(Cell::new(false));
    let steps: [(&'static str, u64, u32); 7] = [
        ("3ns", 3, 40),
        ("6ns", 6, 20),
        ("every10", 10, 12),
        ("yield", 0, 3000),
        ("flagger", 4, 9),
        ("killed", 5, 3),
        ("killer", 7, 3),
    ];
    /// Records its task's end when the task's future is dropped.
    struct Ends(Rc<RefCell<Vec<Step>>>, Sim);
    impl Drop for Ends {
        fn drop(&mut self) {
            self.0
                .borrow_mut()
                .push((self.1.now().0, "victim dropped", 0));
        }
    }
    let victim = {
        let ends = Ends(order.clone(), sim.clone());
        let s = sim.clone();
        let ctx = sim.new_thread_ctx("victim", Layer::Guest, NO_DOM);
        sim.spawn(ctx, async move {
            let _ends = ends;
            s.sleep(SimDuration(1_000)).await;
        })
    };
    for (name, every, times) in steps {
        let (s, o, f) = (sim.clone(), order.clone(), flag.clone());
        let ctx = sim.new_thread_ctx(name, Layer::Guest, NO_DOM);
        sim.spawn(ctx, async move {
            for i in 0..times {
                let mut every = every;
                if name == "killed" && i == 1 {
                    // Ended on this poll: it does not wake again.
                    if let Some(me) = s.exec.current() {
                        s.exec.kill(me);
                    }
                    every = 0;
                }
                if name == "killer" && i == 1 {
                    // The victim's future is dropped before the next event.
                    s.exec.kill(victim);
                    every = 0;
                }
                if name == "every10" {
                    s.sleep_until(SimTime((i as u64 + 1) * every)).await;
                } else {
                    s.sleep(SimDuration(every)).await;
                }
                o.borrow_mut().push((s.now().0, name, i));
                if name == "flagger" && i == 4 {
                    // `run_while` stops before this thread's next step.
                    f.set(true);
                    s.sleep(SimDuration(0)).await;
                    o.borrow_mut()
                        .push((s.now().0, "flagger after the flag", i));
                }
            }
        });
    }
    for t in [6, 12, 30, 60] {
        let o = order.clone();
        sim.schedule_at(SimTime(t), move |s: &Sim| {
            o.borrow_mut().push((s.now().0, "callback", 0))
        });
    }
    let looks: Rc<RefCell<Vec<u64>>> = Rc::default();
    let (s, l) = (sim.clone(), looks.clone());
    sim.set_interrupt(Some(Rc::new(move || {
        l.borrow_mut().push(s.exec.events_run());
        (l.borrow().len() == 3).then(|| "interrupted".to_string())
    })));
    let mut ends = Vec::new();
    match run {
        Run::ToTheEnd => ends.push(end(sim.run_until(None))),
        Run::InSteps(step) => loop {
            let e = sim.run_until(Some(sim.now().after(SimDuration(step))));
            ends.push(format!("{} at {}", end(e.clone()), sim.now().0));
            if !matches!(e, RunEnd::Deadline) {
                break;
            }
        },
        Run::ToAnEventLimit(n) => {
            sim.cfg.borrow_mut().max_events = n;
            ends.push(end(sim.run_until(None)));
        }
        Run::UntilFlagged => {
            let f = flag.clone();
            ends.push(end(sim.run_while(move || !f.get())));
        }
    }
    let order = order.borrow().clone();
    let looks = looks.borrow().clone();
    sim.set_interrupt(None);
    (order, sim.exec.events_run(), sim.now(), ends, looks)
}

#[test]
fn sleepers_that_tie_run_in_the_same_order_either_way() {
    let mut runs = vec![Run::ToTheEnd, Run::UntilFlagged];
    runs.extend([1, 2, 3, 5, 7, 10, 11].map(Run::InSteps));
    runs.extend([1, 2, 3, 4, 9, 10, 25, 50, 77].map(Run::ToAnEventLimit));
    for run in runs {
        let queued = sleepers(false, run);
        match run {
            Run::ToAnEventLimit(_) => assert!(queued.3[0].contains("event limit"), "{run:?}"),
            Run::UntilFlagged => assert!(queued.0.iter().any(|e| e.1 == "flagger" && e.2 == 4)),
            _ => assert!(queued.4.len() >= 2, "{run:?}: the check looked"),
        }
        assert!(
            queued.0.iter().all(|e| e.1 != "killed" || e.2 == 0),
            "{run:?}"
        );
        assert_eq!(sleepers(true, run), queued, "{run:?}");
    }
}
