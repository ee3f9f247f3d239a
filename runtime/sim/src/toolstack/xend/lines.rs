//! xend's source lines, for both builds: the line each log call reports
//! (CPython's last-argument rule, reference §2.1) and the line and text of
//! each call site a traceback shows. Upstream numbers are read from
//! RELEASE-4.4.4; ovm-4.4.4 numbers come from the seed where it shows them
//! and are estimated from the nearest known offset elsewhere (`est`), which
//! `docs/fidelity.md` lists.

use crate::probe::Probe;
use crate::profile::Profile;
use crate::stack::Context;

/// A Python source file of dom0.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum PyFile {
    /// xen/xend/XendDomainInfo.py
    XendDomainInfo,
    /// xen/xend/XendDomain.py
    XendDomain,
    /// xen/xend/server/DevController.py
    DevController,
    /// xen/xend/image.py
    Image,
    /// xen/xend/xenstore/xswatch.py
    Xswatch,
    /// threading.py (Python 2.6)
    Threading,
    /// SocketServer.py (Python 2.6)
    SocketServer,
    /// BaseHTTPServer.py (Python 2.6)
    BaseHttpServer,
    /// SimpleXMLRPCServer.py (Python 2.6)
    SimpleXmlRpcServer,
    /// xen/util/xmlrpclib2.py
    Xmlrpclib2,
    /// xen/xend/server/XMLRPCServer.py
    XmlRpcServer,
}

const LIB: &str = "/usr/lib64/python2.6";
const XEN: &str = "/usr/lib64/python2.6/site-packages/xen";

impl PyFile {
    /// The module name `%(module)s` prints.
    pub fn module(self) -> &'static str {
        match self {
            PyFile::XendDomainInfo => "XendDomainInfo",
            PyFile::XendDomain => "XendDomain",
            PyFile::DevController => "DevController",
            PyFile::Image => "image",
            PyFile::Xswatch => "xswatch",
            PyFile::Threading => "threading",
            PyFile::SocketServer => "SocketServer",
            PyFile::BaseHttpServer => "BaseHTTPServer",
            PyFile::SimpleXmlRpcServer => "SimpleXMLRPCServer",
            PyFile::Xmlrpclib2 => "xmlrpclib2",
            PyFile::XmlRpcServer => "XMLRPCServer",
        }
    }

    /// The file's path in dom0.
    pub fn path(self) -> String {
        match self {
            PyFile::XendDomainInfo => format!("{XEN}/xend/XendDomainInfo.py"),
            PyFile::XendDomain => format!("{XEN}/xend/XendDomain.py"),
            PyFile::DevController => format!("{XEN}/xend/server/DevController.py"),
            PyFile::Image => format!("{XEN}/xend/image.py"),
            PyFile::Xswatch => format!("{XEN}/xend/xenstore/xswatch.py"),
            PyFile::Threading => format!("{LIB}/threading.py"),
            PyFile::SocketServer => format!("{LIB}/SocketServer.py"),
            PyFile::BaseHttpServer => format!("{LIB}/BaseHTTPServer.py"),
            PyFile::SimpleXmlRpcServer => format!("{LIB}/SimpleXMLRPCServer.py"),
            PyFile::Xmlrpclib2 => format!("{XEN}/util/xmlrpclib2.py"),
            PyFile::XmlRpcServer => format!("{XEN}/xend/server/XMLRPCServer.py"),
        }
    }
}

/// One source line in both builds (0: not in that build).
#[derive(Copy, Clone, Debug)]
pub struct PyLine {
    /// The file.
    pub file: PyFile,
    /// Line in ovm-4.4.4.
    pub ovm: u32,
    /// Line in upstream 4.4.4.
    pub up: u32,
    /// The ovm number is an estimate.
    pub est: bool,
    /// Source text (ovm).
    pub text_ovm: &'static str,
    /// Source text (upstream).
    pub text_up: &'static str,
}

impl PyLine {
    /// The line number in a build.
    pub fn number(&self, p: Profile) -> u32 {
        if p.is_ovm() {
            self.ovm
        } else {
            self.up
        }
    }
    /// The source text in a build.
    pub fn text(&self, p: Profile) -> &'static str {
        if p.is_ovm() {
            self.text_ovm
        } else {
            self.text_up
        }
    }
}

macro_rules! lines {
    ($( $id:ident = $file:ident, $ovm:literal, $up:literal, $est:literal, $t:literal $(, $tu:literal)?; )*) => {
        /// Line ids (indices into `LINES`).
        #[allow(missing_docs, non_camel_case_types, clippy::upper_case_acronyms)]
        #[derive(Copy, Clone, Debug, PartialEq, Eq)]
        #[repr(u16)]
        pub enum L { $($id),* }

        /// The line table.
        pub static LINES: &[PyLine] = &[
            $(PyLine { file: PyFile::$file, ovm: $ovm, up: $up, est: $est, text_ovm: $t, text_up: lines!(@up $t $(, $tu)?) }),*
        ];
    };
    (@up $t:literal) => { $t };
    (@up $t:literal, $tu:literal) => { $tu };
}

const SITE: &str = "log.info(\"\".join(traceback.format_stack()))";

lines! {
    // The site of a function, where the seed's author put its instrumentation.
    Site = XendDomainInfo, 0, 0, false, "log.info(\"\".join(traceback.format_stack()))";
    // XendDomainInfo.shutdown
    ShutdownLog = XendDomainInfo, 568, 526, false, "log.debug('XendDomainInfo.shutdown(%s)', reason)";
    ShutdownStore = XendDomainInfo, 577, 535, true, "self.storeDom(\"control/shutdown\", reason)";
    HvmRemoteLog = XendDomainInfo, 585, 543, true, "log.info(\"HVM save:remote shutdown dom %d!\", self.domid)";
    // _handleShutdownWatch / handleHideDevicesWatch
    HandleShutdownLog = XendDomainInfo, 1968, 1887, false, "log.debug('XendDomainInfo.handleShutdownWatch')";
    HandleShutdownTimer = XendDomainInfo, 1986, 1905, true, "threading.Timer(timeout, self.refreshShutdown).start()";
    HideDevicesLog = XendDomainInfo, 1991, 0, false, "log.debug('XenDomainInfo.handleHideDevicesWatch')";
    // destroyDevice
    DestroyDeviceLog = XendDomainInfo, 1348, 1278, false, "deviceClass, devid)";
    DestroyDeviceCtl = XendDomainInfo, 1374, 1301, true, "rc = self.getDeviceController(deviceClass).destroyDevice(devid, force)";
    // refreshShutdown
    RefreshGoneCleanup = XendDomainInfo, 2171, 2044, true, "self.cleanupDomain()";
    RefreshDyingCleanup = XendDomainInfo, 2183, 2056, true, "self.cleanupDomain()";
    CrashedLog = XendDomainInfo, 2194, 2067, true, "self.info['name_label'], self.domid)";
    ShutdownSeenLog = XendDomainInfo, 2211, 2084, false, "self.info['name_label'], self.domid, reason)";
    RefreshDestroy = XendDomainInfo, 2226, 2099, true, "self.destroy()";
    TimeoutLog = XendDomainInfo, 2247, 2120, true, "self.info['name_label'], self.domid)";
    // _maybeRestart, _restart, _preserve
    MaybeDumpCore = XendDomainInfo, 2285, 2152, true, "self._maybeDumpCore(reason)";
    MaybeRestartFunc = XendDomainInfo, 2305, 2172, false, "func()";
    MaybeRestartDefault = XendDomainInfo, 2307, 2174, true, "self.destroy() # default to destroy";
    RestartLoopLog = XendDomainInfo, 2323, 2190, true, "str(self.domid))";
    RestartLoopDestroy = XendDomainInfo, 2324, 2191, true, "self.destroy()";
    RestartFastLog = XendDomainInfo, 2334, 2201, true, "self.info['name_label'], elapse)";
    RestartFastDestroy = XendDomainInfo, 2335, 2202, true, "self.destroy()";
    RestartPreserve = XendDomainInfo, 2342, 2209, true, "new_dom_info = self._preserveForRestart()";
    RestartDestroy = XendDomainInfo, 2345, 2212, true, "self.destroy()";
    RestartFailedLog = XendDomainInfo, 2373, 2240, true, "log.exception('Failed to restart domain %s.', str(old_domid))";
    RenameLog = XendDomainInfo, 2386, 2253, true, "new_name, new_uuid)";
    RenameRelease = XendDomainInfo, 2388, 2255, true, "self._releaseDevices()";
    PreserveLog = XendDomainInfo, 2405, 2272, true, "self.domid)";
    DumpCoreLog = XendDomainInfo, 2460, 2327, true, "self.info['name_label'], corefile)";
    // _releaseDevices
    DestroyingDm = XendDomainInfo, 2584, 2407, false, "log.debug(\"Destroying device model\")";
    DestroyDmCall = XendDomainInfo, 2585, 2408, true, "self.image.destroyDeviceModel()";
    NoDm = XendDomainInfo, 2589, 2412, true, "log.debug(\"No device model\")";
    ReleasingDevices = XendDomainInfo, 2591, 2414, false, "log.debug(\"Releasing devices\")";
    RemovingDev = XendDomainInfo, 2597, 2420, false, "log.debug(\"Removing %s\", dev);";
    ReleaseDestroyDevice = XendDomainInfo, 2600, 2421, false, "self.destroyDevice(devclass, dev, force = force);", "self.destroyDevice(devclass, dev, False);";
    ReleaseFailedLog = XendDomainInfo, 2606, 2427, true, "devclass, dev)";
    // cleanupDomain
    CleanupUnwatch = XendDomainInfo, 3709, 2950, true, "self.unwatchShutdown()";
    CleanupRelease = XendDomainInfo, 3710, 2951, false, "self._releaseDevices()";
    CleanupRunningLock = XendDomainInfo, 3711, 0, true, "self._releaseRunningLock()";
    CleanupRemoveDom = XendDomainInfo, 3718, 2958, true, "self._removeDom()";
    // destroy
    DestroyLog = XendDomainInfo, 3862, 3082, false, "log.debug(\"XendDomainInfo.destroy: domid=%s\", str(self.domid))";
    DestroyXc = XendDomainInfo, 3871, 3091, true, "xc.domain_destroy(self.domid)";
    DestroyFailedLog = XendDomainInfo, 3876, 3096, true, "log.exception(\"XendDomainInfo.destroy: domain destruction failed.\")";
    DestroyRemove = XendDomainInfo, 3881, 3098, true, "XendDomain.instance().remove_domain(self)";
    DestroyCleanup = XendDomainInfo, 3882, 3099, false, "self.cleanupDomain()";
    DestroyCleanupVm = XendDomainInfo, 3891, 3108, true, "self._cleanupVm()";
    // Oracle's running lock
    RunningLockLog = XendDomainInfo, 5262, 0, false, "log.debug(\"Release running lock: status=%d, output=%s\", status, output)";
    // update()
    UpdateRefresh = XendDomainInfo, 4334, 3554, true, "self.refreshShutdown(info)";
    // creation
    CreateLog = XendDomainInfo, 105, 105, true, "log.debug(\"XendDomainInfo.create(%s)\", scrub_password(config))";
    ConstructLog = XendDomainInfo, 2681, 2504, true, "log.debug('XendDomainInfo.constructDomain')";
    InitDomainLog = XendDomainInfo, 3023, 2846, true, "self.domid, self.info['vcpus_params']['weight'])";
    CreateDeviceLog = XendDomainInfo, 2540, 2363, true, "log.info(\"createDevice: %s : %s\" % (devclass, scrub_password(config)))";
    StoreVmLog = XendDomainInfo, 4211, 3431, true, "log.debug(\"Storing VM details: %s\", scrub_password(to_store))";
    StoreDomLog = XendDomainInfo, 1881, 1800, true, "log.debug(\"Storing domain details: %s\", scrub_password(to_store))";
    // XendDomain
    OnDomainsRefresh = XendDomain, 153, 153, true, "self._refresh()";
    RefreshTxn = XendDomain, 429, 429, true, "self._refreshTxn(txn, refresh_shutdown)";
    RefreshTxnUpdate = XendDomain, 442, 442, true, "self.domains[domid].update(dom, refresh_shutdown, transaction)";
    RefreshTxnRemove = XendDomain, 466, 466, true, "self._remove_domain(dom, domid)";
    AddDomainLog = XendDomain, 476, 476, true, "log.debug(\"Adding Domain: %s\" % info.getDomid())";
    RemoveDomainCall = XendDomain, 490, 490, true, "self._remove_domain(info, domid)";
    RemoveDomainCleanup = XendDomain, 506, 506, true, "info.cleanupDomain()";
    LookupRefresh = XendDomain, 555, 555, true, "self._refresh(refresh_shutdown = False)";
    DomainDestroyCall = XendDomain, 1320, 1320, true, "val = dominfo.destroy()";
    TriggerCall = XendDomain, 1918, 1918, true, "return xc.domain_send_trigger(dominfo.getDomid(),";
    // DevController
    WaitingForDevices = DevController, 139, 139, true, "log.debug(\"Waiting for devices %s.\", self.deviceClass)";
    WaitingFor = DevController, 144, 144, true, "log.debug(\"Waiting for %s.\", devid)";
    WaitDestroyLog = DevController, 180, 180, false, "log.debug(\"Waiting for %s - destroyDevice.\", devid)";
    DevCtlWaitDestroy = DevController, 240, 0, true, "self.waitForDevice_destroy(devid, backpath)";
    HotplugCbPath = DevController, 628, 628, true, "log.debug(\"hotplugStatusCallback %s.\", statusPath)";
    HotplugCbStatus = DevController, 642, 642, true, "log.debug(\"hotplugStatusCallback %d.\", result['status'])";
    // image.py
    SpawningDm = Image, 544, 418, true, "log.info(\"spawning device models: %s %s\", self.device_model, args)";
    DmPid = Image, 593, 467, true, "log.info(\"device model pid: %d\", self.pid)";
    SentinelWaiting = Image, 716, 590, true, "log.info(\"waiting for sentinel_fifo\")";
    SentinelTerminated = Image, 741, 615, false, "log.info(\"%s device model terminated\", self.vm.getName())";
    DmSighup = Image, 755, 629, true, "os.kill(self.pid, signal.SIGHUP)";
    DmKillWarn = Image, 775, 649, true, "\"to terminate: sending SIGKILL\" % self.pid)";
    DmFailedLog = Image, 678, 552, true, "log.warning(\"domain %s: %s\", self.vm.getName(), message)";
    // Thread and RPC scaffolding (Python 2.6 and xen/util)
    ThrBootstrap = Threading, 504, 504, false, "self.__bootstrap_inner()";
    ThrBootstrapInner = Threading, 532, 532, false, "self.run()";
    ThrRun = Threading, 484, 484, false, "self.__target(*self.__args, **self.__kwargs)";
    ThrTimerRun = Threading, 736, 736, true, "self.function(*self.args, **self.kwargs)";
    WatchMain = Xswatch, 66, 66, false, "res = watch.fn(we[0], *watch.args, **watch.kwargs)";
    SsProcessRequestThread = SocketServer, 558, 558, true, "self.finish_request(request, client_address)";
    SsFinishRequest = SocketServer, 320, 320, true, "self.RequestHandlerClass(request, client_address, self)";
    XrLambda = Xmlrpclib2, 108, 108, true, "requestHandler(allowed, x, y, z)),";
    XrInit = Xmlrpclib2, 69, 69, true, "server)";
    SsHandlerInit = SocketServer, 615, 615, true, "self.handle()";
    BhHandle = BaseHttpServer, 329, 329, true, "self.handle_one_request()";
    BhHandleOne = BaseHttpServer, 323, 323, true, "method()";
    XrDoPost = Xmlrpclib2, 84, 84, true, "rsp = self.server._marshaled_dispatch(data)";
    XrMarshaled = Xmlrpclib2, 131, 131, true, "response = self._dispatch(method, params)";
    SxDispatch = SimpleXmlRpcServer, 418, 418, true, "return func(*params)";
    XsDispatch = XmlRpcServer, 56, 56, true, "return getattr(info, fn)(*args)";
    XsDispatchLookup = XmlRpcServer, 55, 55, true, "info = lookup(domid)";
    XsLookup = XmlRpcServer, 51, 51, true, "info = XendDomain.instance().domain_lookup(domid)";
}

impl L {
    /// The line's entry.
    pub fn line(self) -> &'static PyLine {
        &LINES[self as usize]
    }
}

/// A function's site (where `on` hooks run and a traceback ends), per build.
pub fn site_of(p: Probe) -> (PyFile, u32, u32, bool) {
    use PyFile::*;
    match p {
        Probe::XendInfoShutdown => (XendDomainInfo, 570, 528, true),
        Probe::XendHandleShutdownWatch => (XendDomainInfo, 1970, 1889, true),
        Probe::XendHandleHideDevicesWatch => (XendDomainInfo, 1993, 0, true),
        Probe::XendDestroyDevice => (XendDomainInfo, 1350, 1279, false),
        Probe::XendStoreChanged => (XendDomainInfo, 1912, 1831, true),
        Probe::XendRefreshShutdown => (XendDomainInfo, 2158, 2031, true),
        Probe::XendMaybeDumpCore => (XendDomainInfo, 2272, 2139, true),
        Probe::XendMaybeRestart => (XendDomainInfo, 2285, 2152, true),
        Probe::XendRestart => (XendDomainInfo, 2318, 2185, true),
        Probe::XendPreserveForRestart => (XendDomainInfo, 2383, 2250, true),
        Probe::XendPreserve => (XendDomainInfo, 2404, 2271, true),
        Probe::XendDumpCore => (XendDomainInfo, 2420, 2287, true),
        Probe::XendReleaseDevices => (XendDomainInfo, 2582, 2405, true),
        Probe::XendRemoveDom => (XendDomainInfo, 1789, 1707, true),
        Probe::XendCleanupDomain => (XendDomainInfo, 3707, 2948, true),
        Probe::XendDestroy => (XendDomainInfo, 3864, 3084, true),
        Probe::XendCleanupVm => (XendDomainInfo, 4115, 3335, true),
        Probe::XendReleaseRunningLock => (XendDomainInfo, 5255, 0, true),
        Probe::XendInfoStart => (XendDomainInfo, 549, 468, true),
        Probe::XendDevControllerDestroy => (DevController, 227, 227, true),
        Probe::XendWaitForDeviceDestroy => (DevController, 182, 182, true),
        Probe::XendDestroyDeviceModel => (Image, 746, 620, true),
        Probe::XendSentinelWatch => (Image, 717, 591, true),
        Probe::XendDmFailed => (Image, 678, 552, true),
        Probe::XendDomainCreate => (XendDomain, 991, 991, true),
        Probe::XendDomainLookup => (XendDomain, 553, 553, true),
        Probe::XendDomainDestroy => (XendDomain, 1314, 1314, true),
        Probe::XendDomainSendTrigger => (XendDomain, 1901, 1901, true),
        Probe::XendOnDomainsChanged => (XendDomain, 151, 151, true),
        Probe::XendRefresh => (XendDomain, 428, 428, true),
        // `running = self._running_domains()`, XendDomain.py:436.
        Probe::XendRefreshTxn => (XendDomain, 436, 436, true),
        // update()'s first statement (its log.trace), XendDomainInfo.py:3535
        // upstream; ovm's is estimated from refreshShutdown(info)'s offset.
        Probe::XendInfoUpdate => (XendDomainInfo, 4315, 3535, true),
        Probe::XendRemoveDomain => (XendDomain, 488, 488, true),
        _ => (XendDomainInfo, 0, 0, true),
    }
}

/// How a thread began, which decides the frames below its first modelled one.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum ThreadKind {
    /// `threading.Thread(target=...)`.
    Thread,
    /// xswatch's "Watcher" thread.
    Watcher,
    /// `threading.Timer`.
    Timer,
    /// An XML-RPC request thread (SocketServer.ThreadingMixIn).
    Rpc,
    /// `thread.start_new_thread` (the sentinel): no threading.py frames.
    Raw,
    /// xend's main thread.
    Main,
}

fn base(kind: ThreadKind) -> &'static [L] {
    match kind {
        ThreadKind::Thread => &[L::ThrBootstrap, L::ThrBootstrapInner, L::ThrRun],
        ThreadKind::Watcher => &[
            L::ThrBootstrap,
            L::ThrBootstrapInner,
            L::ThrRun,
            L::WatchMain,
        ],
        ThreadKind::Timer => &[L::ThrBootstrap, L::ThrBootstrapInner, L::ThrTimerRun],
        ThreadKind::Rpc => &[
            L::ThrBootstrap,
            L::ThrBootstrapInner,
            L::ThrRun,
            L::SsProcessRequestThread,
            L::SsFinishRequest,
            L::XrLambda,
            L::XrInit,
            L::SsHandlerInit,
            L::BhHandle,
            L::BhHandleOne,
            L::XrDoPost,
            L::XrMarshaled,
            L::SxDispatch,
        ],
        ThreadKind::Raw | ThreadKind::Main => &[],
    }
}

fn base_function(l: L) -> &'static str {
    match l {
        L::ThrBootstrap => "__bootstrap",
        L::ThrBootstrapInner => "__bootstrap_inner",
        L::ThrRun | L::ThrTimerRun => "run",
        L::WatchMain => "watchMain",
        L::SsProcessRequestThread => "process_request_thread",
        L::SsFinishRequest => "finish_request",
        L::XrLambda => "<lambda>",
        L::XrInit | L::SsHandlerInit => "__init__",
        L::BhHandle => "handle",
        L::BhHandleOne => "handle_one_request",
        L::XrDoPost => "do_POST",
        L::XrMarshaled => "_marshaled_dispatch",
        L::SxDispatch => "_dispatch",
        _ => "?",
    }
}

/// One traceback entry.
pub struct PyFrame {
    /// File path.
    pub path: String,
    /// Line.
    pub line: u32,
    /// Function name.
    pub func: String,
    /// Source text.
    pub text: &'static str,
}

/// The Python frames of an xend thread, outermost first: the thread's
/// scaffolding, then each modelled xend function at its current line (the
/// innermost at its site).
pub fn py_frames(ctx: &Context, kind: ThreadKind, profile: Profile) -> Vec<PyFrame> {
    py_frames_at(ctx, kind, profile, true)
}

/// `py_frames`, with the innermost function at its site (where a probe's
/// `format_stack` runs) or, `at_site` false, at the line it was executing
/// (a stack kept from when the thread took a causal hop).
pub fn py_frames_at(
    ctx: &Context,
    kind: ThreadKind,
    profile: Profile,
    at_site: bool,
) -> Vec<PyFrame> {
    let mut out: Vec<PyFrame> = base(kind)
        .iter()
        .map(|&l| {
            let e = l.line();
            PyFrame {
                path: e.file.path(),
                line: e.number(profile),
                func: base_function(l).into(),
                text: e.text(profile),
            }
        })
        .collect();
    let frames: Vec<_> = ctx
        .stack
        .iter()
        .filter(|f| f.probe.layer() == crate::probe::Layer::Xend)
        .collect();
    for (i, f) in frames.iter().enumerate() {
        let innermost = at_site && i + 1 == frames.len();
        let (file, site_ovm, site_up, _) = site_of(f.probe);
        let func = f
            .probe
            .function()
            .rsplit('.')
            .next()
            .unwrap_or("?")
            .to_string();
        let (path, line, text) = if innermost || f.line == 0 {
            (
                file.path(),
                if profile.is_ovm() { site_ovm } else { site_up },
                SITE,
            )
        } else {
            let e = LINES[f.line as usize];
            (e.file.path(), e.number(profile), e.text(profile))
        };
        // The RPC dispatcher's frame comes before XendDomainInfo.shutdown.
        if f.probe == Probe::XendInfoShutdown && kind == ThreadKind::Rpc {
            let d = L::XsDispatch.line();
            out.push(PyFrame {
                path: d.file.path(),
                line: d.number(profile),
                func: "dispatch".into(),
                text: d.text(profile),
            });
        }
        out.push(PyFrame {
            path,
            line,
            func,
            text,
        });
    }
    out
}

/// `"".join(traceback.format_stack())`.
pub fn format_stack(frames: &[PyFrame]) -> String {
    let mut s = String::new();
    for f in frames {
        s.push_str(&format!(
            "  File \"{}\", line {}, in {}\n    {}\n",
            f.path, f.line, f.func, f.text
        ));
    }
    s
}

/// A `Traceback (most recent call last):` block, as `log.exception` writes it.
pub fn format_traceback(frames: &[PyFrame], exc: &str) -> String {
    let mut s = String::from("Traceback (most recent call last):\n");
    s.push_str(&format_stack(frames));
    s.push_str(exc);
    s
}

/// The Markdown table of every ovm-4.4.4 line number that is an estimate
/// (docs/fidelity.md includes it; a test keeps the two in step).
pub fn estimates_markdown() -> String {
    let mut s = String::from(
        "| file | upstream 4.4.4 | ovm-4.4.4 (estimate) | source |\n|---|---|---|---|\n",
    );
    for e in LINES.iter().filter(|e| e.est && e.ovm != 0) {
        let up = if e.up == 0 {
            "—".to_string()
        } else {
            e.up.to_string()
        };
        s.push_str(&format!(
            "| {}.py | {up} | {} | `{}` |\n",
            e.file.module(),
            e.ovm,
            e.text_ovm.replace('|', "\\|")
        ));
    }
    s
}
