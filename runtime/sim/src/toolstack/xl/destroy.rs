//! `libxl_domain_destroy` (libxl.c:1255-1492), xl's only way to take a
//! domain down: pause it, SIGHUP its device model without waiting, force
//! every device down, remove its xenstore homes, and only then
//! `xc_domain_destroy` — the reverse of xend's order.

use crate::hypervisor::domctl::{self, Domctl};
use crate::probe::Probe;
use crate::value::Value;
use crate::xenstore::join;
use crate::xenstore::Req;
use crate::Sim;

use super::cmd::{ERROR_FAIL, ERROR_INVAL};
use super::event;
use super::lines::L;
use super::log::{libxl_log, log_errno, Level};

/// `libxl_domain_destroy(ctx, domid, NULL)`: the AO, synchronous as xl
/// calls it. Returns its rc.
pub async fn domain_destroy(sim: &Sim, pid: u32, domid: u32) -> i32 {
    let s = sim.clone();
    let rc: i64 = sim
        .call(
            Probe::LibxlDomainDestroy,
            domid,
            move || vec![Value::Int(domid as i64)],
            async move {
                let ao = event::ao_create(&s, pid, L::DestroyAoCreate);
                s.at(L::DestroyInitiate as u16);
                // libxl__domain_destroy: no stub domain here, so straight to
                // libxl__destroy_domid of the domain itself.
                let work: std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> =
                    Box::pin(destroy_domid(&s, pid, domid, ao));
                work.await;
                s.at(L::DestroyAoInprogress as u16);
                event::ao_inprogress(&s, pid, ao, L::DestroyAoInprogress).await as i64
            },
        )
        .await;
    rc as i32
}

/// `domain_destroy_callback` → `destroy_finish_check` → `domain_destroy_cb`:
/// the AO completes with the destroy's result.
async fn destroyed(sim: &Sim, pid: u32, domid: u32, ao: usize, rc: i32) {
    if rc != 0 {
        libxl_log(
            sim,
            pid,
            Level::Error,
            L::DestroyCbFailedLog,
            &format!("destruction of domain {domid} failed"),
        );
    }
    sim.at(L::DestroyCbComplete as u16);
    event::ao_complete(sim, pid, ao, rc).await;
}

/// `libxl__destroy_domid` (libxl.c:1376-1442).
async fn destroy_domid(sim: &Sim, pid: u32, domid: u32, ao: usize) {
    let s = sim.clone();
    sim.call(
        Probe::LibxlDestroyDomid,
        domid,
        move || vec![Value::Int(domid as i64)],
        async move {
            let Some(info) = domctl::getdomaininfo(&s, domid) else {
                libxl_log(
                    &s,
                    pid,
                    Level::Error,
                    L::DestroyNonExistantLog,
                    &format!("non-existant domain {domid}"),
                );
                destroyed(&s, pid, domid, ao, ERROR_INVAL).await;
                return;
            };
            // HVM without a stub domain: a device model. PV: one if
            // image/device-model-pid exists (a qemu for vfb or qdisk).
            let dm_present = if info.hvm {
                true
            } else {
                event::xs_read(
                    &s,
                    pid,
                    None,
                    &format!("/local/domain/{domid}/image/device-model-pid"),
                )
                .await
                .is_some()
            };
            // libxl__xs_get_dompath; libxl__device_pci_destroy_all (no PCI here).
            s.at(L::DestroyPause as u16);
            let rc = domctl::do_domctl(&s, domid, Domctl::Pause).await;
            if rc < 0 {
                log_errno(
                    &s,
                    pid,
                    Level::Error,
                    L::DestroyPauseFailedLog,
                    &format!("xc_domain_pause failed for {domid}"),
                    Some(super::death::strerror(rc)),
                );
            }
            if dm_present {
                s.at(L::DestroyDm as u16);
                if super::dm::destroy_device_model(&s, pid, domid).await < 0 {
                    libxl_log(
                        &s,
                        pid,
                        Level::Error,
                        L::DestroyDmFailedLog,
                        &format!("libxl__destroy_device_model failed for {domid}"),
                    );
                }
            }
            s.at(L::DestroyDevices as u16);
            super::devices::devices_destroy(&s, pid, domid, ao).await;
        },
    )
    .await
}

/// `devices_destroy_cb` (libxl.c:1444-1492): every device is down; the
/// domain's xenstore homes go, then the Xen domain.
pub async fn devices_destroy_cb(sim: &Sim, pid: u32, domid: u32, ao: usize, rc: i32) {
    let s = sim.clone();
    sim.call(
        Probe::LibxlDevicesDestroyCb,
        domid,
        move || vec![Value::Int(domid as i64), Value::Int(rc as i64)],
        async move {
            let dom_path = format!("/local/domain/{domid}");
            if rc < 0 {
                libxl_log(
                    &s,
                    pid,
                    Level::Error,
                    L::DevicesCbFailedLog,
                    &format!("libxl__devices_destroy failed for {domid}"),
                );
            }
            s.at(L::DevicesCbXsRm as u16);
            if let Some(vm) = event::xs_read(&s, pid, None, &join(&dom_path, "vm")).await {
                let _ = event::xs(&s, pid, None, Req::Rm(vm)).await;
            }
            let _ = event::xs(&s, pid, None, Req::Rm(dom_path.clone())).await;
            let _ = event::xs(&s, pid, None, Req::Rm(format!("/libxl/{domid}"))).await;
            let _ = event::xs(
                &s,
                pid,
                None,
                Req::Rm(format!("/local/domain/0/device-model/{domid}")),
            )
            .await;
            let _ = event::xs(&s, pid, None, Req::Rm(join(&dom_path, "hvmloader"))).await;
            // libxl__userdata_destroyall: the `xl` config kept for a restart.
            s.xl.borrow_mut().domains.remove(&domid);
            s.at(L::DevicesCbXcDestroy as u16);
            let r = domctl::do_domctl(&s, domid, Domctl::Destroy).await;
            let rc = if r < 0 {
                log_errno(
                    &s,
                    pid,
                    Level::Error,
                    L::DevicesCbXcFailedLog,
                    &format!("xc_domain_destroy failed for {domid}"),
                    Some(super::death::strerror(r)),
                );
                ERROR_FAIL
            } else {
                0
            };
            s.at(L::DevicesCbCallback as u16);
            destroyed(&s, pid, domid, ao, rc).await;
        },
    )
    .await
}
