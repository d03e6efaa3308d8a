//! Integration tests: the tgw-vip binary against the EC2 emulator.

mod corpus;
mod engine;
mod faults;
mod hooks;
mod ops;
mod settings;
mod support;
