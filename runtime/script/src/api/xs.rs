//! `xs`: the store as a dom0 tool sees it, or as a domain does (`as_domain`).
//! A script's requests are served at once (no round trip), and its watches
//! fire through the world's event queue like anyone's.

use std::rc::Rc;

use rhai::{Array, Dynamic, Engine, EvalAltResult, FnPtr};
use xsh_sim::xenstore::{perform, ConnId, Req, Resp, TxId, XsErr};

use crate::convert::str_array;
use crate::{rt_err, HostState};

type R<T> = Result<T, Box<EvalAltResult>>;

/// `xs`, or `xs.as_domain(id)`.
#[derive(Clone)]
pub struct XsApi {
    st: Rc<HostState>,
    conn: ConnId,
    who: Option<u32>,
}

/// The `t` of `xs.transaction(|t| ...)`.
#[derive(Clone)]
pub struct TxApi {
    st: Rc<HostState>,
    conn: ConnId,
    tx: TxId,
}

impl XsApi {
    /// Is this the `xs` global (dom0's tools connection), not `as_domain`'s?
    pub fn is_tools(&self) -> bool {
        self.who.is_none()
    }

    /// The dom0 tools view.
    pub fn tools(st: Rc<HostState>) -> XsApi {
        let conn = st.xs_conn;
        XsApi {
            st,
            conn,
            who: None,
        }
    }
}

fn fail<T>(e: XsErr, op: &str, path: &str, who: Option<u32>) -> R<T> {
    let as_dom = who.map_or(String::new(), |d| format!(" (as domain {d})"));
    rt_err(format!("{}: {op} {path}{as_dom}", e.name()))
}

fn req(st: &HostState, conn: ConnId, tx: Option<TxId>, r: Req) -> Result<Resp, XsErr> {
    perform(&st.sim, conn, tx, &r)
}

fn parse_perms(list: &Array) -> R<Vec<(u32, char)>> {
    let mut out = Vec::new();
    for p in list {
        let s = p
            .clone()
            .into_string()
            .map_err(|_| "perms are strings like \"n0\", \"r8\", \"b0\"".to_string())?;
        let mut ch = s.chars();
        let c = ch.next().unwrap_or(' ');
        let d: u32 = ch
            .as_str()
            .parse()
            .map_err(|_| format!("bad permission {s:?}: expected n|r|w|b then a domid"))?;
        if !"nrwb".contains(c) {
            return rt_err(format!(
                "bad permission {s:?}: expected n|r|w|b then a domid"
            ));
        }
        out.push((d, c));
    }
    if out.is_empty() {
        return rt_err("set_perms needs at least the owner's entry");
    }
    Ok(out)
}

macro_rules! ops {
    ($e:ident, $T:ty, $tx:expr) => {
        $e.register_fn("read", |x: &mut $T, p: &str| -> R<String> {
            match req(&x.st, x.conn, $tx(x), Req::Read(p.into())) {
                Ok(r) => Ok(r.into_value()),
                Err(e) => fail(e, "read", p, who(x)),
            }
        });
        $e.register_fn("write", |x: &mut $T, p: &str, v: &str| -> R<()> {
            req(&x.st, x.conn, $tx(x), Req::Write(p.into(), v.into()))
                .map(|_| ())
                .or_else(|e| fail(e, "write", p, who(x)))
        });
        $e.register_fn("mkdir", |x: &mut $T, p: &str| -> R<()> {
            req(&x.st, x.conn, $tx(x), Req::Mkdir(p.into()))
                .map(|_| ())
                .or_else(|e| fail(e, "mkdir", p, who(x)))
        });
        $e.register_fn("rm", |x: &mut $T, p: &str| -> R<()> {
            req(&x.st, x.conn, $tx(x), Req::Rm(p.into()))
                .map(|_| ())
                .or_else(|e| fail(e, "rm", p, who(x)))
        });
        $e.register_fn("ls", |x: &mut $T, p: &str| -> R<Dynamic> {
            match req(&x.st, x.conn, $tx(x), Req::Directory(p.into())) {
                Ok(r) => Ok(str_array(r.into_list())),
                Err(e) => fail(e, "ls", p, who(x)),
            }
        });
        $e.register_fn("exists", |x: &mut $T, p: &str| -> R<bool> {
            match req(&x.st, x.conn, $tx(x), Req::Read(p.into())) {
                Ok(_) => Ok(true),
                Err(XsErr::ENOENT) => Ok(false),
                Err(e) => fail(e, "exists", p, who(x)),
            }
        });
        $e.register_fn("perms", |x: &mut $T, p: &str| -> R<Dynamic> {
            match req(&x.st, x.conn, $tx(x), Req::GetPerms(p.into())) {
                Ok(Resp::Perms(ps)) => {
                    Ok(str_array(ps.into_iter().map(|(d, c)| format!("{c}{d}"))))
                }
                Ok(_) => Ok(Dynamic::UNIT),
                Err(e) => fail(e, "perms", p, who(x)),
            }
        });
        $e.register_fn("set_perms", |x: &mut $T, p: &str, list: Array| -> R<()> {
            let ps = parse_perms(&list)?;
            req(&x.st, x.conn, $tx(x), Req::SetPerms(p.into(), ps))
                .map(|_| ())
                .or_else(|e| fail(e, "set_perms", p, who(x)))
        });
    };
}

trait Who {
    fn who(&self) -> Option<u32>;
}
impl Who for XsApi {
    fn who(&self) -> Option<u32> {
        self.who
    }
}
impl Who for TxApi {
    fn who(&self) -> Option<u32> {
        None
    }
}
fn who<T: Who>(x: &T) -> Option<u32> {
    x.who()
}

/// Registers `xs`.
pub fn register(e: &mut Engine) {
    e.register_type_with_name::<XsApi>("Xenstore");
    e.register_type_with_name::<TxApi>("Transaction");
    ops!(e, XsApi, |_x: &XsApi| None);
    ops!(e, TxApi, |x: &TxApi| Some(x.tx));

    e.register_fn("as_domain", |x: &mut XsApi, id: i64| -> R<XsApi> {
        if id == 0 {
            return Ok(XsApi::tools(x.st.clone()));
        }
        let conn = x.st.sim.xs.borrow().domain_conn(id as u32);
        match conn {
            Some(c) => Ok(XsApi {
                st: x.st.clone(),
                conn: c,
                who: Some(id as u32),
            }),
            None => rt_err(format!(
                "xs.as_domain: domain {id} is not introduced to xenstored"
            )),
        }
    });
    e.register_fn("watch", |x: &mut XsApi, p: &str, f: FnPtr| -> R<String> {
        if let Some(msg) = x.st.arity_error(
            &f,
            2,
            "xs.watch(path, f) expects a closure taking two parameters (the path, the token)",
        ) {
            return rt_err(msg);
        }
        let n = x.st.next_watch.get();
        x.st.next_watch.set(n + 1);
        let token = format!("xsh-{n}");
        x.st.watches.borrow_mut().insert(token.clone(), f);
        if x.who.is_some() {
            // Made on the guest's own connection, so its permissions and
            // quotas apply, with its events handed to the script as the
            // guest kernel hands a user-space watch's to /dev/xen/xenbus.
            let mut xs = x.st.sim.xs.borrow_mut();
            if let xsh_sim::xenstore::Sink::Callback(cb) = &xs.conn(x.st.xs_conn).sink {
                let cb = cb.clone();
                xs.deliver_next_watch_to(cb);
            }
        }
        let r = req(
            &x.st,
            x.conn,
            None,
            Req::Watch(p.into(), token.as_str().into()),
        );
        x.st.sim.xs.borrow_mut().next_watch_callback_clear();
        match r {
            Ok(_) => Ok(token),
            Err(e) => {
                x.st.watches.borrow_mut().shift_remove(&token);
                fail(e, "watch", p, x.who)
            }
        }
    });
    e.register_fn("unwatch", |x: &mut XsApi, token: &str| -> R<()> {
        let known = x.st.watches.borrow_mut().shift_remove(token).is_some();
        if !known {
            return rt_err(format!("ENOENT: unwatch {token}: no such watch"));
        }
        // On the connection it was made on (dom0's, or a guest's).
        let found = x.st.sim.xs.borrow().watch_of_token(token);
        if let Some((conn, p)) = found {
            let _ = req(&x.st, conn, None, Req::Unwatch(p.to_string(), token.into()));
        }
        Ok(())
    });
    e.register_fn("dump", |x: &mut XsApi, p: &str| -> R<String> {
        match x.st.sim.xs.borrow().dump(p, false) {
            Some(s) => Ok(s),
            None => rt_err(format!("ENOENT: dump {p}")),
        }
    });
    e.register_fn("dump", |x: &mut XsApi, p: &str, perms: bool| -> R<String> {
        match x.st.sim.xs.borrow().dump(p, perms) {
            Some(s) => Ok(s),
            None => rt_err(format!("ENOENT: dump {p}")),
        }
    });
    e.register_fn("transaction", |x: &mut XsApi, f: FnPtr| -> R<Dynamic> {
        if let Some(msg) = x.st.arity_error(
            &f,
            1,
            "xs.transaction(f) expects a closure taking one parameter (the transaction)",
        ) {
            return rt_err(msg);
        }
        let tx = match req(&x.st, x.conn, None, Req::TxStart) {
            Ok(Resp::Tx(t)) => t,
            Ok(_) => return rt_err("EIO: transaction_start"),
            Err(e) => return fail(e, "transaction_start", "", x.who),
        };
        let t = TxApi {
            st: x.st.clone(),
            conn: x.conn,
            tx,
        };
        let (Some(engine), Some(ast)) = (x.st.engine(), x.st.ast()) else {
            return rt_err("no script running");
        };
        let r = f.call::<Dynamic>(&engine, &ast, (t,));
        match r {
            Ok(v) => match req(&x.st, x.conn, Some(tx), Req::TxEnd(true)) {
                Ok(_) => Ok(v),
                Err(e) => fail(e, "transaction_end", "(commit)", x.who),
            },
            Err(err) => {
                let _ = req(&x.st, x.conn, Some(tx), Req::TxEnd(false));
                Err(err)
            }
        }
    });
}
