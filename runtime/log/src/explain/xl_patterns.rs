//! The lines of xl's logs and qemu-xen's, as patterns: xl's own `LOG`
//! lines carry no function, so docs/reference-xl.md §9 maps each to the
//! function of xl_cmdimpl.c (RELEASE-4.4.4) that writes it. A libxl line
//! names its function (`libxl: error: libxl_dm.c:1499:kill_device_model:`)
//! and is explained by that name (`explain::libxl_line`), not here.

use super::patterns::Pattern;
use crate::format::Format;

const CREATE: &str = "xl create: libxl builds the domain; the monitor forks (do_daemonize)";
const WAIT: &str = "xl's monitor waits for the domain's death (libxl_evenable_domain_death)";
const SHUT: &str = "@releaseDomain: libxl tells xl's monitor the domain has shut down";
const ACTION: &str = "handle_domain_death: xl applies on_poweroff / on_reboot / on_crash";
const CLEANUP: &str =
    "handle_domain_death: libxl_domain_destroy (device model, backends, xc_domain_destroy)";
const PRESERVE: &str = "on_* = preserve: xl renames the domain and leaves it";
const DONE: &str = "the monitor exits, or goes back to create the domain again (restart)";
const GONE: &str = "the domain was destroyed under the monitor (xl destroy)";
const REQUEST: &str =
    "xl shutdown / reboot: libxl checks the PV control interface, writes control/shutdown";
const WAITING: &str = "xl shutdown -w: xl waits for the domains' deaths";
const DESTROY: &str = "xl destroy: libxl_domain_destroy";
const COMMAND: &str = "an xl command refused before it runs";
const KILLED: &str = "qemu-xen terminates on the SIGHUP of libxl's kill_device_model";

macro_rules! xl {
    ($t:literal, $p:literal, $s:expr) => {
        Pattern {
            format: Format::Xl,
            module: None,
            template: $t,
            probe: Some($p),
            line: None,
            step: $s,
        }
    };
}

/// xl's lines (xl-<name>.log, xl's stderr) and qemu-xen's own.
pub static XL_PATTERNS: &[Pattern] = &[
    xl!(
        "xend is running, which may cause unpredictable results when using{}",
        "xl:main",
        COMMAND
    ),
    xl!("Parsing config from {}", "xl:create_domain", CREATE),
    xl!(
        "Waiting for domain {} (domid {}) to die [pid {}]",
        "xl:create_domain",
        WAIT
    ),
    xl!(
        "Domain {} has shut down, reason code {} 0x{}",
        "xl:create_domain",
        SHUT
    ),
    xl!(
        "Action for shutdown reason code {} is {}",
        "xl:handle_domain_death",
        ACTION
    ),
    xl!("Domain has suspended.", "xl:handle_domain_death", ACTION),
    xl!(
        "Unknown shutdown reason code {}. Destroying domain.",
        "xl:handle_domain_death",
        ACTION
    ),
    xl!("dumping core to {}", "xl:handle_domain_death", ACTION),
    xl!(
        "Domain {} needs to be cleaned up: destroying the domain",
        "xl:handle_domain_death",
        CLEANUP
    ),
    xl!(
        "failed to retrieve guest configuration (rc={}). reusing old configuration",
        "xl:handle_domain_death",
        ACTION
    ),
    xl!(
        "Preserving domain {} {} with suffix{}",
        "xl:preserve_domain",
        PRESERVE
    ),
    xl!("Done. Rebooting now", "xl:create_domain", DONE),
    xl!("Done. Exiting now", "xl:create_domain", DONE),
    xl!("Domain {} has been destroyed.", "xl:create_domain", GONE),
    xl!("Shutting down domain {}", "xl:shutdown_domain", REQUEST),
    xl!("Rebooting domain {}", "xl:reboot_domain", REQUEST),
    xl!(
        "PV control interface not available:{}",
        "xl:shutdown_domain",
        REQUEST
    ),
    xl!(
        "Use \"-F\" to fallback to ACPI {} event.",
        "xl:shutdown_domain",
        REQUEST
    ),
    xl!("shutdown failed (rc={})", "xl:shutdown_domain", REQUEST),
    xl!("reboot failed (rc={})", "xl:reboot_domain", REQUEST),
    xl!(
        "Waiting for {} domains",
        "xl:wait_for_domain_deaths",
        WAITING
    ),
    xl!(
        "Domain {} has been shut down, reason code {}",
        "xl:wait_for_domain_deaths",
        WAITING
    ),
    xl!(
        "Domain {} has been destroyed",
        "xl:wait_for_domain_deaths",
        WAITING
    ),
    xl!(
        "Cannot destroy privileged domain 0.",
        "xl:destroy_domain",
        DESTROY
    ),
    xl!("destroy failed (rc={})", "xl:destroy_domain", DESTROY),
    xl!("Invalid trigger \"{}\"", "xl:main_trigger", COMMAND),
    Pattern {
        format: Format::QemuDm,
        module: None,
        template: "qemu: terminating on signal {}",
        probe: Some("qemu:qemu_kill_report"),
        line: None,
        step: KILLED,
    },
];

/// The step of a libxl line, whose probe is the function it names.
pub const LIBXL: &str = "libxl logs from the function its line names";
