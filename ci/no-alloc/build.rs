//! On bare-metal targets, make `offload_no_alloc_main` the ELF entry point: without a root the
//! linker's section GC would drop every engine call and link an empty binary, so undefined
//! symbols in engine code (a stray `memcpy`, a float routine) would go unnoticed.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo::rustc-link-arg-bins=--entry=offload_no_alloc_main");
    }
}
