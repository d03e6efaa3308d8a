//! tgw-vip moves a routed virtual IP between HA cluster nodes that sit in
//! different VPCs and AWS regions joined by Transit Gateways.
//!
//! The pipeline is `config` (the file as written) -> `topology` (validated)
//! -> `plan` (desired routes and diff, pure) -> `aws` (the only module that
//! calls AWS) -> `engine` (observe, apply) -> `report` (the output).

rust_i18n::i18n!("locales", fallback = "en");

pub mod app;
pub mod aws;
pub mod check;
pub mod cli;
pub mod commands;
pub mod config;
pub mod converge;
pub mod engine;
pub mod generate;
pub mod hooks;
pub mod hostnames;
pub mod iam;
pub mod imds;
pub mod messages;
pub mod plan;
pub mod report;
pub mod topology;
pub mod vip;

/// Process exit codes, a stable interface for cluster managers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitStatus {
    /// The action succeeded.
    Success = 0,
    /// A required route was not set, or drift was found and not repaired.
    Failed = 1,
    /// Invalid usage or configuration; nothing was changed.
    Usage = 2,
    /// AWS could not be reached, or returned errors where the policy fails.
    AwsUnavailable = 3,
    /// A hook aborted the action.
    HookAborted = 4,
}

impl ExitStatus {
    pub fn code(self) -> i32 {
        self as i32
    }
}
