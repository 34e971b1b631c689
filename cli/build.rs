//! Link options for the release `cofre` binary on x86_64 Linux, where Rust links with LLD:
//! `--symbol-ordering-file=layout/cofre.order` lays the functions a server runs from start
//! to serving requests (listed by `bench/layout.sh`) next to each other. The kernel maps
//! code in 64 KiB windows around each page a process touches; scattered over the whole
//! text, start-up code alone made 8 MiB of it resident. Names the build no longer has are
//! skipped, so a stale list costs only the gain.
//!
//! Not used: `-z pack-relative-relocs` (RELR) would spare the loader half a MiB of
//! relocations at start, but makes the binary need glibc 2.36, which Ubuntu 22.04 and
//! RHEL 9 do not have.
//!
//! `COFRE_PLAIN_LINK=1` turns the ordering off (for a linker other than LLD).

use std::env;

fn main() {
    println!("cargo:rerun-if-changed=layout/cofre.order");
    println!("cargo:rerun-if-env-changed=COFRE_PLAIN_LINK");
    let release = env::var("PROFILE").is_ok_and(|p| p == "release");
    let target = env::var("TARGET").unwrap_or_default();
    let plain = env::var("COFRE_PLAIN_LINK").is_ok_and(|v| v == "1");
    if !release || target != "x86_64-unknown-linux-gnu" || plain {
        return;
    }
    let dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    for arg in [
        format!("-Wl,--symbol-ordering-file={dir}/layout/cofre.order"),
        "-Wl,--no-warn-symbol-ordering".to_string(),
    ] {
        println!("cargo:rustc-link-arg-bin=cofre={arg}");
    }
}
