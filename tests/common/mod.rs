//! Helpers the integration tests share: the test bed's xenstore, and domains as a toolstack
//! registers them.

use xlchannel::xenstore::XenStore;

pub fn store() -> XenStore {
    XenStore::open().expect("no xenstored: run inside testbed/with-xenstored.sh")
}

/// `/local/domain/<domid>` with its name, as a toolstack registers a guest.
pub fn register(xs: &XenStore, domid: u32, name: &str) {
    xs.transaction(|t| {
        let base = format!("/local/domain/{domid}");
        t.write(&base, b"")?;
        t.write(&format!("{base}/name"), name.as_bytes())?;
        t.write(&format!("{base}/domid"), domid.to_string().as_bytes())?;
        t.write(&format!("{base}/device"), b"")
    })
    .expect("registering a domain");
}
