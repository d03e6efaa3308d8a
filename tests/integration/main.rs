//! Integration tests: the tgw-vip binary against the EC2 emulator.

mod corpus;
mod engine;
mod examples;
mod faults;
mod hooks;
mod metadata;
mod ops;
mod settings;
mod support;
mod topologies;

/// The integration tests run the binary built for this machine.
pub const TARGET: support::Target = support::Target::Native;
