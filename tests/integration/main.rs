//! Integration tests: the tgw-vip binary against the EC2 emulator.

mod engine;
mod ops;
mod support;
