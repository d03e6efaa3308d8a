//! The command line as typed: options, then the action word.
//!
//! The original script's form `tgw-vip --vip 172.16.0.1 -c /etc/tgw.conf
//! start` works unchanged; every option may also follow the action word.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use rust_i18n::t;

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

impl Command {
    /// Returns the action word as typed, such as `start` or `iam-policy`.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Start => "start",
            Command::Monitor => "monitor",
            Command::Stop => "stop",
            Command::Status => "status",
            Command::Plan => "plan",
            Command::Check => "check",
            Command::IamPolicy => "iam-policy",
            Command::Completions { .. } => "completions",
            Command::Man => "man",
        }
    }
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

/// Finds the value of `--lang` on a raw command line before parsing, so
/// that `--help` and usage errors come in the chosen language.
pub fn lang_in_args(args: &[OsString]) -> Option<String> {
    let mut words = args.iter().skip(1).map(|arg| arg.to_string_lossy());

    while let Some(word) = words.next() {
        if word == "--" {
            break;
        }
        if let Some(value) = word.strip_prefix("--lang=") {
            return Some(value.to_string());
        }
        if word == "--lang" {
            return words.next().map(|value| value.into_owned());
        }
    }
    None
}

/// Builds the command line definition with its help in `lang` (`en` or `ja`).
/// English comes from the doc comments above; the man page uses it too.
pub fn command(lang: &str) -> clap::Command {
    let command = Cli::command();
    if lang != "ja" {
        return command;
    }

    let mut command = command
        .about(t!("help.about", locale = lang).into_owned())
        .after_help(t!("help.exit_codes", locale = lang).into_owned());
    // Building adds the help and version flags and the help subcommand,
    // so that they can be translated too.
    command.build();
    localize(command, lang).mut_subcommands(|sub| {
        let about = t!(format!("help.cmd.{}", sub.get_name()), locale = lang).into_owned();
        localize(sub, lang).about(about)
    })
}

/// Translates the headings and argument help of one command level.
fn localize(command: clap::Command, lang: &str) -> clap::Command {
    command
        .help_template(t!("help.template", locale = lang).into_owned())
        .subcommand_help_heading(t!("help.heading_commands", locale = lang).into_owned())
        .mut_args(|arg| {
            let heading = if arg.is_positional() {
                t!("help.heading_arguments", locale = lang)
            } else {
                t!("help.heading_options", locale = lang)
            };
            let help = t!(format!("help.arg.{}", arg.get_id()), locale = lang).into_owned();
            arg.help(help).help_heading(heading.into_owned())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn lang_is_found_before_parsing() {
        let found = |words: &[&str]| lang_in_args(&os(words));

        assert_eq!(
            found(&["tgw-vip", "--lang", "ja", "start"]),
            Some("ja".into())
        );
        assert_eq!(found(&["tgw-vip", "start", "--lang=en"]), Some("en".into()));
        assert_eq!(found(&["tgw-vip", "--lang"]), None);
        assert_eq!(found(&["tgw-vip", "--", "--lang", "ja"]), None);
        assert_eq!(found(&["tgw-vip", "status"]), None);
    }

    #[test]
    fn japanese_help_covers_every_argument_and_command() {
        let mut command = command("ja");
        command.build();

        let mut missing = Vec::new();
        let levels = std::iter::once(&command).chain(command.get_subcommands());
        for level in levels {
            for arg in level.get_arguments() {
                let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
                if help.is_empty() || help.starts_with("help.") || help.is_ascii() {
                    missing.push(format!("{} {}", level.get_name(), arg.get_id()));
                }
            }
        }
        for sub in command.get_subcommands() {
            let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
            if about.starts_with("help.") || about.is_ascii() {
                missing.push(format!("command {}", sub.get_name()));
            }
        }
        assert!(missing.is_empty(), "untranslated help: {missing:?}");

        let rendered = command.render_help().to_string();
        assert!(rendered.contains("使い方: tgw-vip"), "{rendered}");
        assert!(rendered.contains("オプション:"), "{rendered}");
        assert!(rendered.contains("終了コード"), "{rendered}");
    }
}
