//! Link options for the release `cofre` binary on x86_64 Linux, where Rust links with LLD:
//! `--symbol-ordering-file=layout/cofre.order` lays the functions a server runs from start
//! to serving requests (listed by `bench/layout.sh`) next to each other. The kernel maps
//! code in 64 KiB windows around each page a process touches; scattered over the whole
//! text, start-up code alone made 8 MiB of it resident. Names the build no longer has are
//! skipped, so a stale list costs only the gain.
//!
//! The option is only known to LLD, which rustup's toolchains use for this target (Rust
//! 1.90 and later). It is left out when the toolchain does not come from rustup (a
//! distribution's rustc may link with GNU ld), when a linker is configured
//! (`RUSTC_LINKER`), when the flags choose one (`-C linker…`, `-fuse-ld`,
//! `link-self-contained`), and with `COFRE_PLAIN_LINK=1`.
//!
//! Not used: `-z pack-relative-relocs` (RELR) would spare the loader half a MiB of
//! relocations at start, but makes the binary need glibc 2.36, which Ubuntu 22.04 and
//! RHEL 9 do not have.

use std::env;

fn main() {
    println!("cargo:rerun-if-changed=layout/cofre.order");
    for var in ["COFRE_PLAIN_LINK", "RUSTUP_TOOLCHAIN", "RUSTC_LINKER"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    if lays_out_code() {
        let dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        for arg in [
            format!("-Wl,--symbol-ordering-file={dir}/layout/cofre.order"),
            "-Wl,--no-warn-symbol-ordering".to_string(),
        ] {
            println!("cargo:rustc-link-arg-bin=cofre={arg}");
        }
    }
}

/// A release build for x86_64 Linux with rustup's LLD, and not turned off.
fn lays_out_code() -> bool {
    let var = |name: &str| env::var(name).unwrap_or_default();
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    var("PROFILE") == "release"
        && var("TARGET") == "x86_64-unknown-linux-gnu"
        && var("COFRE_PLAIN_LINK") != "1"
        && env::var_os("RUSTUP_TOOLCHAIN").is_some()
        && env::var_os("RUSTC_LINKER").is_none()
        && !["linker", "fuse-ld", "link-self-contained"]
            .iter()
            .any(|f| flags.contains(f))
}
