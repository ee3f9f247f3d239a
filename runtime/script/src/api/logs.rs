//! `logs`: real logs in a script — `logs.parse(text)` gives the records as
//! maps, `logs.diff(a, b)` compares two logs' events, `logs.explain(text)`
//! says which probe wrote each record. The parsing is xsh-log's, the same
//! as `xsh logs parse`.
//!
//! `logs` is a constant of a global module rather than a variable the
//! engine resolves: it holds no state, so every script, `fn` and closure
//! can share the one value.

use rhai::{Array, Dynamic, Engine, Map, Module};
use xsh_log::diff::Op;
use xsh_log::{Format, Record};

/// The `logs` global.
#[derive(Clone)]
pub struct LogsApi;

fn opt_str(m: &mut Map, k: &str, v: Option<&str>) {
    m.insert(
        k.into(),
        v.map_or(Dynamic::UNIT, |s| Dynamic::from(s.to_string())),
    );
}

fn opt_int(m: &mut Map, k: &str, v: Option<u32>) {
    m.insert(
        k.into(),
        v.map_or(Dynamic::UNIT, |n| Dynamic::from_int(n as i64)),
    );
}

fn record_map(r: &Record) -> Dynamic {
    let mut m = Map::new();
    m.insert("format".into(), Dynamic::from(r.format.name().to_string()));
    m.insert("file".into(), Dynamic::from(r.file.clone()));
    m.insert("line".into(), Dynamic::from_int(r.line() as i64));
    let last = r.last_line();
    m.insert("last_line".into(), Dynamic::from_int(last as i64));
    m.insert("kind".into(), Dynamic::from(r.kind.name().to_string()));
    opt_str(&mut m, "time", r.time.as_deref());
    opt_int(&mut m, "pid", r.pid);
    opt_str(&mut m, "level", r.level.map(|l| l.name()));
    opt_str(&mut m, "module", r.module.as_deref());
    opt_int(&mut m, "lineno", r.lineno);
    opt_str(&mut m, "thread", r.thread.as_deref());
    opt_str(&mut m, "logger", r.logger.as_deref());
    opt_str(&mut m, "host", r.host.as_deref());
    opt_str(&mut m, "func", r.func.as_deref());
    m.insert("message".into(), Dynamic::from(r.message()));
    m.insert(
        "continuation".into(),
        Dynamic::from_int(r.last_line().saturating_sub(r.line()) as i64),
    );
    let damage: Array = r
        .damage
        .iter()
        .map(|d| {
            let mut dm = Map::new();
            dm.insert("kind".into(), Dynamic::from(d.kind.name().to_string()));
            dm.insert("start".into(), Dynamic::from_int(d.start as i64));
            dm.insert("end".into(), Dynamic::from_int(d.end as i64));
            dm.insert("note".into(), Dynamic::from(d.note.to_string()));
            Dynamic::from_map(dm)
        })
        .collect();
    m.insert("damage".into(), Dynamic::from_array(damage));
    Dynamic::from_map(m)
}

fn parse(text: &str, hint: Option<Format>) -> Array {
    xsh_log::records_of(text.as_bytes(), "script", hint)
        .iter()
        .map(record_map)
        .collect()
}

fn event_map(e: &xsh_log::events::Event) -> Dynamic {
    let mut m = Map::new();
    m.insert("line".into(), Dynamic::from_int(e.line as i64));
    m.insert("format".into(), Dynamic::from(e.format.name().to_string()));
    m.insert("text".into(), Dynamic::from(e.text.clone()));
    Dynamic::from_map(m)
}

fn diff(a: &str, b: &str) -> Map {
    let ra = xsh_log::records_of(a.as_bytes(), "a", None);
    let rb = xsh_log::records_of(b.as_bytes(), "b", None);
    let d = xsh_log::diff::diff(&ra, &rb);
    let (mut missing, mut extra, mut moved) = (Array::new(), Array::new(), Array::new());
    for op in &d.ops {
        match *op {
            Op::Same(..) => {}
            Op::Missing(i) => missing.push(event_map(&d.a[i])),
            Op::Extra(j) => extra.push(event_map(&d.b[j])),
            Op::Moved(i, j) => {
                let mut m = Map::new();
                m.insert("a_line".into(), Dynamic::from_int(d.a[i].line as i64));
                m.insert("b_line".into(), Dynamic::from_int(d.b[j].line as i64));
                m.insert("text".into(), Dynamic::from(d.a[i].text.clone()));
                moved.push(Dynamic::from_map(m));
            }
        }
    }
    let mut m = Map::new();
    m.insert("same".into(), Dynamic::from_bool(d.same()));
    m.insert("in_order".into(), Dynamic::from_int(d.counts().0 as i64));
    m.insert("missing".into(), Dynamic::from_array(missing));
    m.insert("extra".into(), Dynamic::from_array(extra));
    m.insert("reordered".into(), Dynamic::from_array(moved));
    // True when part of the logs could only be matched greedily.
    m.insert(
        "approximate".into(),
        Dynamic::from_bool(d.approximate != (0, 0)),
    );
    m
}

fn explain(text: &str) -> Array {
    let records = xsh_log::records_of(text.as_bytes(), "script", None);
    let ex = xsh_log::explain::explain(&records);
    ex.records
        .iter()
        .map(|r| {
            let mut m = Map::new();
            m.insert(
                "line".into(),
                Dynamic::from_int(r.lines.first().map_or(0, |l| l.line) as i64),
            );
            opt_str(&mut m, "probe", r.probe);
            m.insert("layer".into(), Dynamic::from(r.layer.to_string()));
            m.insert("step".into(), Dynamic::from(r.step.to_string()));
            m.insert("modelled".into(), Dynamic::from_bool(r.modelled));
            opt_str(&mut m, "build", r.build.map(|b| b.name()));
            Dynamic::from_map(m)
        })
        .collect()
}

/// Registers `logs` and its methods.
pub fn register(e: &mut Engine) {
    e.register_type_with_name::<LogsApi>("Logs");
    e.register_fn("parse", |_: &mut LogsApi, text: &str| parse(text, None));
    e.register_fn("parse", |_: &mut LogsApi, text: &str, format: &str| {
        parse(text, Format::from_name(format))
    });
    e.register_fn("diff", |_: &mut LogsApi, a: &str, b: &str| diff(a, b));
    e.register_fn("explain", |_: &mut LogsApi, text: &str| explain(text));
    let mut m = Module::new();
    m.set_var("logs", LogsApi);
    e.register_global_module(m.into());
}
