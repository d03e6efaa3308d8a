//! The Windows build, tgw-vip.exe, under Wine against the EC2 emulator on
//! 127.0.0.1.
//!
//! scripts/test-windows builds and stages the exe, then runs `cargo test
//! --test windows`; plain `cargo test` leaves this crate out because it
//! needs that staged exe. The scenarios of the integration suite run here
//! unchanged: `support::tgw_vip_command` starts the exe under Wine and
//! passes the config as a `Z:\` path with backslashes. The tests that
//! exercise unix-only behaviour are named in scripts/test-windows, which
//! leaves them out with the reason.

#[path = "../integration/corpus.rs"]
mod corpus;
#[path = "../integration/engine.rs"]
mod engine;
#[path = "../integration/hooks.rs"]
mod hooks;
#[path = "../integration/ops.rs"]
mod ops;
// Shared with the integration tests; this crate uses only some helpers.
#[allow(dead_code)]
#[path = "../integration/support.rs"]
mod support;

mod batch;
mod platform;

/// The tests in this crate run the Windows build under Wine.
pub const TARGET: support::Target = support::Target::Wine;
