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
