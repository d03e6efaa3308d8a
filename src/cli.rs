//! The command line as typed: options, then the action word.
//!
//! The original script's form `tgw-vip --vip 172.16.0.1 -c /etc/tgw.conf
//! start` works unchanged; every option may also follow the action word.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "tgw-vip",
    version,
    about = "Points a virtual IP's routes in every VPC and Transit Gateway route table at the active cluster node",
    after_help = "Exit codes: 0 success, 1 action failed or drift found, 2 invalid usage or configuration, 3 AWS unreachable or failing, 4 aborted by a hook."
)]
pub struct Cli {
    /// Virtual IP to route, such as 172.16.0.1 (a /32). Repeat for several
    /// VIPs; without it, the `vips` list of the config is used.
    #[arg(long = "vip", global = true, value_name = "ADDRESS")]
    pub vips: Vec<String>,

    /// Configuration file (the tgw.conf YAML); by default /etc/tgw.conf on
    /// Linux and C:\ProgramData\tgw-vip\tgw.conf on Windows.
    #[arg(
        short = 'c',
        long = "config",
        global = true,
        value_name = "FILE",
        env = "TGW_VIP_CONFIG"
    )]
    pub config: Option<PathBuf>,

    /// Server to act as, a key of `servers`; by default the local host name
    /// is matched exactly, then ignoring case, then by its short name, and
    /// on Windows by its NetBIOS name too.
    #[arg(long, global = true, value_name = "NAME")]
    pub server: Option<String>,

    /// Seconds the whole command may take; no AWS call outlives it.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 30.0)]
    pub timeout: f64,

    /// Routes outside the active server's region are required too.
    #[arg(long, global = true)]
    pub strict: bool,

    /// More log output: -v for info, -vv for debug, -vvv for trace. RUST_LOG
    /// overrides it.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Output format of the report on standard output.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Language of messages; by default taken from LC_ALL, LC_MESSAGES or
    /// LANG, and on Windows without those, from the display language.
    #[arg(long, global = true, value_enum)]
    pub lang: Option<Lang>,

    /// AWS account id (12 digits) for the ARNs that `iam-policy` prints;
    /// without it the ARNs match any account (`*`).
    #[arg(long, global = true, value_name = "ACCOUNT_ID")]
    pub account: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Point every managed route at this server (the cluster's start action).
    Start,
    /// Check that every managed route points at this server (the cluster's
    /// monitor action).
    Monitor,
    /// Succeed without changing anything, for managers that need a stop
    /// action.
    Stop,
    /// Show where the VIP routes to, table by table.
    Status,
    /// Show the changes a start on this server would make, without writing.
    Plan,
    /// Check the config against AWS: every id exists, and every route write
    /// is permitted (tested with DryRun, nothing is changed).
    Check,
    /// Print the least-privilege IAM policy (JSON) for this config.
    IamPolicy,
    /// Print a shell completion script.
    #[command(hide = true)]
    Completions {
        /// Shell to generate the script for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    #[command(hide = true)]
    Man,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    En,
    Ja,
}
