//! Rebuilds the crate when a message file changes: rust-i18n compiles the
//! texts in `locales/` into the binary, and Cargo does not see that input.

fn main() {
    println!("cargo:rerun-if-changed=locales");
}
