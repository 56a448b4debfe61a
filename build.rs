//! Generates `include/libxl_channel.h` from the `extern "C"` layer with cbindgen and links the
//! Xen libraries the C layer calls.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rustc-link-lib=xentoollog");
    // A versioned soname, so an installed libxlchannel.so.MAJOR can be replaced in place.
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("set by cargo");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libxlchannel.so.{major}");

    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is valid");
    let header = crate_dir.join("include/libxl_channel.h");
    match cbindgen::generate_with_config(&crate_dir, config) {
        Ok(bindings) => {
            bindings.write_to_file(&header);
        }
        // Keep building (e.g. while editing) but never silently: the header check in
        // `make check` compares the committed header with a fresh one.
        Err(e) => println!(
            "cargo:warning=cbindgen could not generate {}: {e}",
            header.display()
        ),
    }
}
