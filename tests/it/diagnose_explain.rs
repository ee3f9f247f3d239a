//! `xsh logs explain FILE` labels every line of the corpus and the seed's
//! logs with the probe whose code writes it and its step on the seed's
//! path, from the model's closest variant. The expected labels are written
//! here from the real code and the reference, line by line of the log:
//! which function logs each message in RELEASE-4.4.4 (and the innermost of
//! its callers the model has a probe for), and `reference/seed-path.md`'s
//! step numbers.

use serde_json::Value;

use crate::util::xsh_in;

/// What a line must be labelled with.
#[derive(Debug, PartialEq)]
struct Expect {
    probe: Option<String>,
    step: Option<u64>,
}

fn e(probe: &str, step: Option<u64>) -> Expect {
    Expect {
        probe: Some(probe.to_string()),
        step,
    }
}

/// No probe: not modelled, or model code outside any probe.
fn none() -> Expect {
    Expect {
        probe: None,
        step: None,
    }
}

/// Walks a log in order, as a reader of the real code would label it.
#[derive(Default)]
struct Reader {
    /// `control/shutdown` watch firings since the last shutdown request
    /// (`None`: no request yet — the firing on registration).
    watch: Option<u32>,
    /// A destroy was seen: a creation after it is `_restart`'s.
    destroyed: bool,
    /// The domain being built is a restart's.
    restarting: bool,
}

impl Reader {
    fn expect(&mut self, text: &str) -> Expect {
        let t = text.trim();
        let start = "xend:XendDomainInfo.start";
        let release = "xend:XendDomainInfo._releaseDevices";
        match t {
            // XendDomainInfo.create(), called by XendDomain.domain_create.
            _ if t.starts_with("XendDomainInfo.create(") => {
                self.restarting = self.destroyed;
                self.watch = None;
                e("xend:XendDomain.domain_create", None)
            }
            // start → _constructDomain (→ XendDomain.add_domain),
            // _initDomain (→ _createDevices → image.createDeviceModel),
            // _storeVmDetails, _storeDomDetails.
            _ if [
                "XendDomainInfo.constructDomain",
                "Adding Domain: ",
                "XendDomainInfo.initDomain: ",
                "createDevice: ",
                "spawning device models: ",
                "device model pid: ",
                "Storing VM details: ",
                "Storing domain details: ",
            ]
            .iter()
            .any(|p| t.starts_with(p)) =>
            {
                e(start, None)
            }
            // image._sentinel_watch, the thread createDeviceModel starts.
            "waiting for sentinel_fifo" => e("xend:image._sentinel_watch", None),
            // DevController.waitForDevice_destroy (ovm): step 28's wait.
            _ if t.ends_with("- destroyDevice.") => {
                e("xend:DevController.waitForDevice_destroy", Some(28))
            }
            // xl_cmdimpl.c: handle_domain_death's LOGs (:1810, :1849).
            _ if t.starts_with("Action for shutdown reason code ")
                || t.ends_with("needs to be cleaned up: destroying the domain") =>
            {
                e("xl:handle_domain_death", None)
            }
            // create_domain's own LOGs in the monitor (:2322, :2348, :2400,
            // :2405): the forked part of create_domain, which the model runs
            // outside the `xl create` command's call; the reference's table
            // (docs/reference-xl.md §9) names create_domain.
            _ if t.starts_with("Waiting for domain ")
                || t.contains(" has shut down, reason code ")
                || t.starts_with("Done. ") =>
            {
                e("xl:create_domain", None)
            }
            // DevController.waitForDevices: for `xm create` a separate
            // XML-RPC request (xm/create.py) the model has no probe for;
            // after a restart, `_restart` calls it (new_dom.waitForDevices).
            _ if t.starts_with("Waiting for ") => match self.restarting {
                true => e("xend:XendDomainInfo._restart", None),
                false => none(),
            },
            // DevController.hotplugStatusCallback: an xswatch callback on
            // the Watcher thread, no probe.
            _ if t.starts_with("hotplugStatusCallback ") => none(),
            _ if t.starts_with("XendDomainInfo.shutdown(") => {
                self.watch = Some(0);
                e("xend:XendDomainInfo.shutdown", Some(2))
            }
            // Step 4 is xend's own write firing the watch, 7 the guest's
            // ack; the firing on registration is no step.
            "XendDomainInfo.handleShutdownWatch" => {
                let step = self.watch.map(|n| if n == 0 { 4 } else { 7 });
                self.watch = self.watch.map(|n| n + 1);
                e("xend:XendDomainInfo._handleShutdownWatch", step)
            }
            _ if t.starts_with("Domain has shutdown:") || t.starts_with("Domain has crashed:") => {
                e("xend:XendDomainInfo.refreshShutdown", Some(22))
            }
            _ if t.starts_with("XendDomainInfo.destroy: domid=") => {
                self.destroyed = true;
                e("xend:XendDomainInfo.destroy", Some(24))
            }
            "Destroying device model" | "No device model" => e(release, Some(25)),
            _ if t.ends_with(" device model terminated") => {
                e("xend:image._sentinel_watch", Some(26))
            }
            "Releasing devices" => e(release, Some(27)),
            _ if t.starts_with("Removing ") => e(release, Some(27)),
            _ if t.starts_with("XendDomainInfo.destroyDevice: ") => {
                e("xend:XendDomainInfo.destroyDevice", Some(28))
            }
            // The seed's author's log.info(traceback) at XendDomainInfo:1350,
            // in destroyDevice.
            _ if t.starts_with("File \"") => e("xend:XendDomainInfo.destroyDevice", Some(28)),
            _ if t.starts_with("Release running lock:") => {
                e("xend:XendDomainInfo._releaseRunningLock", Some(29))
            }
            "XenDomainInfo.handleHideDevicesWatch" => {
                e("xend:XendDomainInfo.handleHideDevicesWatch", Some(31))
            }
            // helper2.c: cpu_handle_ioreq logs this, then calls
            // destroy_hvm_domain, which logs `Issued domain N poweroff`.
            "shutdown requested in cpu_handle_ioreq" => e("qemu:cpu_handle_ioreq", Some(17)),
            _ if t.starts_with("Issued domain ") => e("qemu:destroy_hvm_domain", Some(19)),
            // The seed's diagnostic at __domain_finalise_shutdown.
            "Xen call trace:" => e("xen:__domain_finalise_shutdown", Some(20)),
            // SrvDaemon.run of a new xend: no domain's, not modelled.
            _ => none(),
        }
    }
}

/// `explain --json`'s objects, one per line of the file (a mail's or a
/// forum's copy exits 1: it reports the damage it repaired).
fn explain(file: &str) -> Vec<Value> {
    let (code, out, err) = xsh_in(None, &["logs", "explain", "--json", file]);
    let damaged = file.ends_with(".mail") || file.ends_with(".forum");
    assert_eq!(code, i32::from(damaged), "{file}: {err}");
    out.lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn check(file: &str, lines: usize) {
    let rows = explain(file);
    assert_eq!(rows.len(), lines, "{file}: one row per record");
    let mut reader = Reader::default();
    for r in &rows {
        let text = r["text"].as_str().expect("text");
        let want = reader.expect(text);
        let got = Expect {
            probe: r["probe"].as_str().map(str::to_string),
            step: r["step"].as_u64(),
        };
        assert_eq!(got, want, "{file}:{} `{text}`: {}", r["line"], r["label"]);
        assert_ne!(r["moved"], Value::Bool(true), "{file}:{}", r["line"]);
    }
}

#[test]
fn explain_labels_every_line_of_the_seeds_logs() {
    check("../shared/seed/xend-poweroff.log", 31);
    check("../shared/seed/xend-callstack.log", 2);
    check("../shared/seed/qemu-dm.log", 2);
    check("../shared/seed/xen-call-trace.log", 1);
}

#[test]
fn explain_labels_every_line_of_the_corpus() {
    for (file, records) in [
        ("tests/diagnose/crash-restart/xend.log", 60),
        ("tests/diagnose/crash-restart/xend.log.mail", 60),
        ("tests/diagnose/crash-restart/xend.log.forum", 60),
        ("tests/diagnose/reboot/xend.log", 56),
        ("tests/diagnose/reboot/xend.log.mail", 56),
        ("tests/diagnose/reboot/xend.log.forum", 56),
        ("tests/diagnose/slow-shutdown/xend.log", 31),
        ("tests/diagnose/slow-shutdown/xend.log.mail", 31),
        ("tests/diagnose/slow-shutdown/xend.log.forum", 31),
        ("tests/diagnose/xend-restart/xend.log", 36),
        ("tests/diagnose/xend-restart/xend.log.mail", 36),
        ("tests/diagnose/xend-restart/xend.log.forum", 36),
        ("tests/diagnose/xl-poweroff/xl-web.log", 5),
        ("tests/diagnose/xl-reboot/xl-web.log", 6),
        ("tests/diagnose/xl-poweroff/xl-web.log.mail", 5),
        ("tests/diagnose/xl-reboot/xl-web.log.mail", 6),
        ("tests/diagnose/xl-poweroff/xl-web.log.forum", 5),
        ("tests/diagnose/xl-reboot/xl-web.log.forum", 6),
    ] {
        check(file, records);
    }
}

#[test]
fn explain_labels_nothing_the_model_cannot_replay() {
    for file in [
        "tests/diagnose/restore-failed/xend.log",
        "tests/diagnose/restore-failed/xend.log.mail",
        "tests/diagnose/restore-failed/xend.log.forum",
        "tests/diagnose/xen-4.16-triple-fault/xen.log",
        "tests/diagnose/xen-4.16-triple-fault/xen.log.mail",
        "tests/diagnose/xen-4.16-triple-fault/xen.log.forum",
    ] {
        for r in explain(file) {
            assert!(r["probe"].is_null(), "{file}: {r}");
            assert_eq!(r["label"], "not modelled", "{file}: {r}");
        }
    }
}

/// The model's own `xl -vvv` log of a reboot (scripts/xl_reboot.rhai): its
/// monitor's lines and libxl's, explained by the model's xl:/libxl:
/// probes (docs/reference-xl.md §9), and diagnosed as fitting: every line
/// aligned once the replay runs xl at the log's verbosity with the devices
/// libxl's backend paths name.
#[test]
fn an_xl_log_maps_to_xl_and_libxl_probes_and_fits() {
    let s = crate::util::Scratch::new("xl-explain", &[]);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("scripts/xl_reboot.rhai");
    let (code, _, err) = s.xsh(&["run", script.to_str().unwrap(), "--log-dir", "logs"]);
    assert_eq!(code, 0, "{err}");
    let log = s.path("logs/xl-web.log");
    let log = log.to_str().unwrap();
    let text = std::fs::read_to_string(log).unwrap();
    let libxl = text.lines().filter(|l| l.starts_with("libxl: ")).count();
    assert!(libxl > 40, "xl -vvv writes libxl's debug lines: {libxl}");
    for patterns in [false, true] {
        let mut args = vec!["logs", "explain", "--json", log];
        if patterns {
            args.push("--patterns");
        }
        let (code, out, err) = s.xsh(&args);
        assert_eq!(code, 0, "{err}");
        let rows: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows.len(), text.lines().count());
        for r in &rows {
            let probe = r["probe"].as_str().unwrap_or("");
            let msg = r["message"].as_str().or(r["text"].as_str()).unwrap_or("");
            // libxl's `ao 0x...: create:` / `inprogress:` lines carry their
            // caller's function (AO_CREATE's __func__): do_domain_create's
            // has no probe of its own.
            let no_probe = msg.starts_with("ao 0x") && !probe.starts_with("libxl:");
            if no_probe {
                continue;
            }
            assert!(
                probe.starts_with("xl:") || probe.starts_with("libxl:"),
                "patterns={patterns}: {r}"
            );
        }
        let probe_of = |needle: &str| {
            rows.iter()
                .find(|r| {
                    r["message"]
                        .as_str()
                        .or(r["text"].as_str())
                        .unwrap_or("")
                        .contains(needle)
                })
                .map(|r| r["probe"].as_str().unwrap_or("").to_string())
        };
        assert_eq!(
            probe_of("Waiting for domain web").as_deref(),
            Some("xl:create_domain")
        );
        assert_eq!(
            probe_of("Action for shutdown reason code 1 is restart").as_deref(),
            Some("xl:handle_domain_death")
        );
        assert_eq!(
            probe_of("Done. Rebooting now").as_deref(),
            Some("xl:create_domain")
        );
        assert_eq!(
            probe_of("calling hotplug script: /etc/xen/scripts/block remove").as_deref(),
            Some("libxl:device_hotplug")
        );
    }
    let (code, out, err) = s.xsh(&["logs", "diagnose", "--json", log]);
    assert_eq!(code, 0, "{out}{err}");
    let d: Value = serde_json::from_str(&out).unwrap();
    let dom = &d["domains"][0];
    assert_eq!(dom["verdict"], "fits", "{}", dom["first_divergence"]);
    assert_eq!(dom["lines"].as_array().unwrap().len(), text.lines().count());
    let choices = dom["variant"]["choices"].to_string();
    assert!(choices.contains("[\"fault\",\"none\"]"), "{choices}");
    assert!(
        dom["variant"]["script"]
            .as_str()
            .unwrap()
            .contains("xl.verbose = 3;"),
        "{}",
        dom["variant"]["script"]
    );
}
