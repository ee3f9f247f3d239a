//! Issue 14: places where the model or its API did not say what the
//! reference (../shared/reference/) says. Each test failed before its fix.

use crate::util::ok;

/// `/vm/<uuid>/uuid` is readable by the guest whatever its domid: xend
/// grants `self.domid`, not the domid the config pinned (reference §3.2).
#[test]
fn vm_uuid_is_guest_readable_without_a_pinned_domid() {
    ok(r#"
let dom = xm.create(#{ name: "h", type: "hvm", guest: "ubuntu-16.04" });
let guest = xs.as_domain(dom.id);
assert_eq(guest.read(`/vm/${dom.uuid}/uuid`), dom.uuid);
let other = xm.create(#{ name: "o", type: "hvm", guest: "ubuntu-16.04" });
let denied = false;
try { xs.as_domain(other.id).read(`/vm/${dom.uuid}/uuid`); } catch (e) { denied = `${e}`.contains("EACCES"); }
assert(denied, "another guest still cannot read it");
"#);
}
