//! Integration tests: the tgw-vip binary against the EC2 emulator.

mod engine;
mod examples;
mod faults;
mod metadata;
mod settings;
mod support;
mod topologies;
