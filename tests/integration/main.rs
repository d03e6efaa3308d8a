//! Integration tests: the tgw-vip binary against the EC2 emulator.

mod engine;
mod faults;
mod hooks;
mod settings;
mod support;
